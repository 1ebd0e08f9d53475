// A read cache for the hottest listing (a connector's releases). Only used when one process owns
// the database (SQLite): every write goes through this process's repositories, which invalidate
// the entry, so the cache is never stale. With PostgreSQL (many processes) it is off.
import type { ReleaseSummary } from './repositories/releases.js'

export interface ReleaseListEntry {
  /** the connector's owner; null for the built-in library */
  ownerPartnerId: string | null
  releases: readonly ReleaseSummary[]
}

export class ReleaseListCache {
  readonly #entries = new Map<string, ReleaseListEntry>()
  constructor(private readonly max = 10_000) {}

  get(connectorId: string): ReleaseListEntry | undefined {
    return this.#entries.get(connectorId)
  }

  set(connectorId: string, entry: ReleaseListEntry): void {
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value as string)
    this.#entries.set(connectorId, entry)
  }

  invalidate(connectorId: string): void {
    this.#entries.delete(connectorId)
  }

  clear(): void {
    this.#entries.clear()
  }
}

import type { Kysely, Transaction } from 'kysely'
import type { ConnectorDefinition, ReleaseSettings } from '../../definition/schema.js'
import type { ReleaseState, Version } from '../../domain/lifecycle.js'
import type { ReleaseListCache } from '../read-cache.js'
import type { DB, ReleasesTable } from '../tables.js'
import { Statements } from '../statements.js'

export interface Release {
  id: string
  connectorId: string
  partnerId: string | null
  state: ReleaseState
  version: Version | null
  settings: ReleaseSettings
  definition: ConnectorDefinition
  hasIcon: boolean
  createdAt: string
  updatedAt: string
  pushedAt: string | null
  deprecatedAt: string | null
  /** deprecated releases only: after it, new installs pinned to the release are refused (migration 0009) */
  sunsetAt?: string | null
}

export type ReleaseSummary = Omit<Release, 'definition'>

type Db = Kysely<DB> | Transaction<DB>

const summaryColumns = [
  'id', 'connector_id', 'partner_id', 'state', 'version_major', 'version_minor', 'settings', 'has_icon',
  'created_at', 'updated_at', 'pushed_at', 'deprecated_at', 'sunset_at',
] as const

const toSummary = (r: Omit<ReleasesTable, 'definition'>): ReleaseSummary => ({
  id: r.id,
  connectorId: r.connector_id,
  partnerId: r.partner_id,
  state: r.state,
  version: r.version_major === null ? null : { major: r.version_major, minor: r.version_minor ?? 0 },
  settings: JSON.parse(r.settings),
  hasIcon: r.has_icon === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  pushedAt: r.pushed_at,
  deprecatedAt: r.deprecated_at,
  sunsetAt: r.sunset_at ?? null,
})

const toRelease = (r: ReleasesTable): Release => ({ ...toSummary(r), definition: JSON.parse(r.definition) })

/** Parsed definitions of pushed releases by id (immutable: frozen, shared by every reader). */
const pushedDefinitions = new Map<string, ConnectorDefinition>()
const PUSHED_DEFINITIONS_MAX = 256

function rememberDefinition(id: string, definition: ConnectorDefinition): void {
  if (pushedDefinitions.size >= PUSHED_DEFINITIONS_MAX) pushedDefinitions.delete(pushedDefinitions.keys().next().value!)
  pushedDefinitions.set(id, deepFreeze(definition))
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

export class ReleasesRepo {
  readonly #statements = new Statements()
  constructor(
    private readonly db: Kysely<DB>,
    private readonly cache?: ReleaseListCache,
  ) {}

  async insert(r: Release, db: Db = this.db): Promise<void> {
    this.cache?.invalidate(r.connectorId)
    await db
      .insertInto('releases')
      .values({
        id: r.id,
        connector_id: r.connectorId,
        partner_id: r.partnerId,
        state: r.state,
        version_major: r.version?.major ?? null,
        version_minor: r.version?.minor ?? null,
        settings: JSON.stringify(r.settings),
        definition: JSON.stringify(r.definition),
        has_icon: r.hasIcon ? 1 : 0,
        created_at: r.createdAt,
        updated_at: r.updatedAt,
        pushed_at: r.pushedAt,
        deprecated_at: r.deprecatedAt,
      })
      .execute()
  }

  async get(connectorId: string, id: string, db: Db = this.db): Promise<Release | undefined> {
    // A pushed release's definition never changes (only drafts are edited): parsed once, then
    // only the summary columns are read.
    const known = pushedDefinitions.get(id)
    if (known) {
      const s = (
        await this.#statements.execute(db, 'summary', [connectorId, id], (d, v) =>
          d.selectFrom('releases').select(summaryColumns).where('connector_id', '=', v[0] as string).where('id', '=', v[1] as string),
        )
      ).rows[0]
      if (!s) return undefined
      if (s.state !== 'draft') return { ...toSummary(s), definition: known }
    }
    const r = await db.selectFrom('releases').selectAll().where('connector_id', '=', connectorId).where('id', '=', id).executeTakeFirst()
    if (!r) return undefined
    const release = toRelease(r)
    if (release.state !== 'draft') rememberDefinition(id, release.definition)
    return release
  }

  async getByState(connectorId: string, state: ReleaseState, db: Db = this.db): Promise<Release | undefined> {
    const r = await db.selectFrom('releases').selectAll().where('connector_id', '=', connectorId).where('state', '=', state).executeTakeFirst()
    return r && toRelease(r)
  }

  /**
   * The releases of a connector the partner can see, in one query (the hot read path): undefined
   * when the connector is not visible to the partner, [] when it has no release.
   */
  async listVisible(partnerId: string, connectorId: string): Promise<readonly ReleaseSummary[] | undefined> {
    const cached = this.cache?.get(connectorId)
    if (cached) return cached.ownerPartnerId === null || cached.ownerPartnerId === partnerId ? cached.releases : undefined
    const rows = await this.db
      .selectFrom('connectors as c')
      .leftJoin('releases as r', 'r.connector_id', 'c.id')
      .select(['c.partner_id as owner_partner_id', ...summaryColumns.map((col) => `r.${col}` as const)])
      .where('c.id', '=', connectorId)
      .orderBy('r.id')
      .execute()
    if (!rows.length) return undefined
    const releases = rows.filter((r) => r.id !== null).map((r) => Object.freeze(toSummary(r as Omit<ReleasesTable, 'definition'>)))
    const ownerPartnerId = rows[0].owner_partner_id
    this.cache?.set(connectorId, { ownerPartnerId, releases })
    return ownerPartnerId === null || ownerPartnerId === partnerId ? releases : undefined
  }

  async list(connectorId: string): Promise<ReleaseSummary[]> {
    const rows = await this.db.selectFrom('releases').select(summaryColumns).where('connector_id', '=', connectorId).orderBy('id').execute()
    return rows.map(toSummary)
  }

  async updateDraft(connectorId: string, id: string, patch: { settings?: ReleaseSettings; definition?: ConnectorDefinition; hasIcon?: boolean; updatedAt: string }): Promise<void> {
    this.cache?.invalidate(connectorId)
    const values: Partial<ReleasesTable> = { updated_at: patch.updatedAt }
    if (patch.settings) values.settings = JSON.stringify(patch.settings)
    if (patch.definition) values.definition = JSON.stringify(patch.definition)
    if (patch.hasIcon !== undefined) values.has_icon = patch.hasIcon ? 1 : 0
    await this.db.updateTable('releases').set(values).where('id', '=', id).where('connector_id', '=', connectorId).where('state', '=', 'draft').execute()
  }

  async deleteDraft(connectorId: string, id: string): Promise<number> {
    this.cache?.invalidate(connectorId)
    const r = await this.db.deleteFrom('releases').where('id', '=', id).where('connector_id', '=', connectorId).where('state', '=', 'draft').executeTakeFirst()
    return Number(r.numDeletedRows)
  }

  /** Sets (or clears) the sunset date of a deprecated release; 0 when it is not (or no longer) deprecated. */
  async setSunset(connectorId: string, id: string, sunsetAt: string | null, at: string): Promise<number> {
    this.cache?.invalidate(connectorId)
    const r = await this.db.updateTable('releases').set({ sunset_at: sunsetAt, updated_at: at }).where('id', '=', id).where('connector_id', '=', connectorId).where('state', '=', 'deprecated').executeTakeFirst()
    return Number(r.numUpdatedRows)
  }

  /** Those of the given releases whose sunset date is at or before `now` (ISO text compares as time). */
  async pastSunset(releaseIds: readonly string[], now: string): Promise<Array<{ id: string; connectorId: string; version: Version | null; sunsetAt: string }>> {
    if (!releaseIds.length) return []
    const rows = await this.db
      .selectFrom('releases')
      .select(['id', 'connector_id', 'version_major', 'version_minor', 'sunset_at'])
      .where('id', 'in', [...new Set(releaseIds)])
      .where('sunset_at', 'is not', null)
      .where('sunset_at', '<=', now)
      .orderBy('id')
      .execute()
    return rows.map((r) => ({ id: r.id, connectorId: r.connector_id, version: r.version_major === null ? null : { major: r.version_major, minor: r.version_minor ?? 0 }, sunsetAt: r.sunset_at! }))
  }

  /** Moves live → deprecated and draft → live in the caller's transaction. */
  async promote(tx: Db, args: { connectorId: string; draftId: string; previousLiveId: string | null; version: Version; at: string }): Promise<number> {
    this.cache?.invalidate(args.connectorId)
    if (args.previousLiveId) {
      await tx.updateTable('releases').set({ state: 'deprecated', deprecated_at: args.at, updated_at: args.at }).where('id', '=', args.previousLiveId).where('state', '=', 'live').execute()
    }
    const r = await tx
      .updateTable('releases')
      .set({ state: 'live', version_major: args.version.major, version_minor: args.version.minor, pushed_at: args.at, updated_at: args.at })
      .where('id', '=', args.draftId)
      .where('state', '=', 'draft')
      .executeTakeFirst()
    return Number(r.numUpdatedRows)
  }
}

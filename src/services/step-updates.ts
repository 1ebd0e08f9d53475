// Annotates template and cycle steps with their pinned release's version and update availability.
// Reads one release per distinct pin and one live release per connector (a cycle read stays cheap).
import { formatVersion, type Version } from '../domain/lifecycle.js'
import { NO_UPDATE, updateAvailability, type UpdateAvailability } from '../domain/update-available.js'
import type { Step } from '../engine/templates/template-schema.js'
import type { Store } from '../store/store.js'

export interface StepReleaseInfo extends UpdateAvailability {
  release?: { id: string; version: string | null }
}

export async function stepReleaseInfo(store: Store, steps: readonly Pick<Step, 'connector'>[]): Promise<StepReleaseInfo[]> {
  const pinned = new Map<string, Version | null>()
  const live = new Map<string, Version | null>()
  for (const s of steps) {
    const c = s.connector
    if (!c?.releaseId) continue
    if (!pinned.has(c.releaseId)) pinned.set(c.releaseId, (await store.releases.get(c.connectorId, c.releaseId))?.version ?? null)
    if (!live.has(c.connectorId)) live.set(c.connectorId, (await store.releases.getByState(c.connectorId, 'live'))?.version ?? null)
  }
  return steps.map((s) => {
    const c = s.connector
    if (!c?.releaseId) return { ...NO_UPDATE }
    const version = pinned.get(c.releaseId) ?? null
    return { release: { id: c.releaseId, version: formatVersion(version) }, ...updateAvailability(version, live.get(c.connectorId)) }
  })
}

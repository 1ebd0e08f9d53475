// Deprecation sunset (issue 8 §6): the sunset date of a deprecated release, who is still on a
// release (per account), and the refusal of new installs pinned to a release past its date.
// The rules are pure (domain/lifecycle.ts); these load and decide.
import { assertNotSunset, formatVersion, sunsetStatus, type SunsetStatus } from '../domain/lifecycle.js'
import type { ReleaseSummary } from '../store/repositories/releases.js'
import { releaseUsageRows, type ReleaseUsageRows } from '../store/repositories/release-usage.js'
import type { Store } from '../store/store.js'

/** Counts of the partner's objects pinned to one release. */
export interface UsageCounts {
  accounts: number
  accountConnectors: number
  cycles: number
  cycleSteps: number
  templates: number
  templateSteps: number
}

export interface AccountUsage {
  accountId: string
  name: string | null
  externalId: string | null
  accountConnectors: number
  cycles: number
  cycleSteps: number
}

export interface ReleaseUsage {
  release: { id: string; connectorId: string; state: string; version: string | null }
  sunset: SunsetStatus
  summary: UsageCounts
  accounts: AccountUsage[]
  cycles: Array<{ id: string; accountId: string; name: string; status: string; steps: number }>
}

/**
 * Refuses a new install (`what`, e.g. "installing template tpl_…") when a release it would pin is
 * past its sunset date at `now`: one query over the distinct release ids.
 */
export async function refuseSunsetInstall(store: Store, now: Date, releaseIds: ReadonlyArray<string | null | undefined>, what: string): Promise<void> {
  const ids = releaseIds.filter((id): id is string => !!id)
  if (!ids.length) return
  assertNotSunset(await store.releases.pastSunset(ids, now.toISOString()), what)
}

function counts(rows: ReleaseUsageRows, releaseId: string): UsageCounts {
  const accounts = rows.accounts.filter((a) => a.releaseId === releaseId)
  const t = rows.templates.find((x) => x.releaseId === releaseId)
  return {
    accounts: accounts.length,
    accountConnectors: accounts.reduce((n, a) => n + a.accountConnectors, 0),
    cycles: accounts.reduce((n, a) => n + a.cycles, 0),
    cycleSteps: accounts.reduce((n, a) => n + a.cycleSteps, 0),
    templates: t?.templates ?? 0,
    templateSteps: t?.templateSteps ?? 0,
  }
}

/** Who of the partner is still on one release: counts, per account, and the cycles. */
export async function releaseUsage(store: Store, partnerId: string, release: Pick<ReleaseSummary, 'id' | 'connectorId' | 'state' | 'version' | 'sunsetAt'>, now: Date): Promise<ReleaseUsage> {
  const rows = await releaseUsageRows(store.db, partnerId, release.connectorId, release.id)
  return {
    release: { id: release.id, connectorId: release.connectorId, state: release.state, version: formatVersion(release.version) },
    sunset: sunsetStatus(release, now),
    summary: counts(rows, release.id),
    accounts: rows.accounts.map((a) => ({ accountId: a.accountId, name: a.accountName, externalId: a.externalId, accountConnectors: a.accountConnectors, cycles: a.cycles, cycleSteps: a.cycleSteps })),
    cycles: rows.cycles.map((c) => ({ id: c.cycleId, accountId: c.accountId, name: c.name, status: c.status, steps: c.steps })),
  }
}

/** Usage counts of every release of a connector (three grouped queries, whatever the number of releases). */
export async function connectorUsage(store: Store, partnerId: string, connectorId: string, releaseIds: readonly string[]): Promise<Map<string, UsageCounts>> {
  const rows = await releaseUsageRows(store.db, partnerId, connectorId)
  return new Map(releaseIds.map((id) => [id, counts(rows, id)]))
}

// Release lifecycle rules (SPEC §1 "Release lifecycle"): pure decisions, no I/O.
import { fail } from '../errors/errors.js'

export type ReleaseState = 'draft' | 'live' | 'deprecated'
export type PushKind = 'major' | 'minor'

export interface Version {
  major: number
  minor: number
}

export const formatVersion = (v: Version | null): string | null => (v ? `${v.major}.${v.minor}` : null)

/** First push → 1.0 whatever the kind; major → (M+1).0; minor → M.(m+1). */
export function nextVersion(live: Version | null, kind: PushKind): Version {
  if (!live) return { major: 1, minor: 0 }
  return kind === 'major' ? { major: live.major + 1, minor: 0 } : { major: live.major, minor: live.minor + 1 }
}

export function assertDraft(release: { id: string; state: ReleaseState }, action: string): void {
  if (release.state !== 'draft') {
    throw fail('RELEASE_NOT_DRAFT', `release ${release.id} is ${release.state}; only a draft can be ${action}`, {
      state: release.state,
    })
  }
}

export function assertNoDraft(existingDraftId: string | null): void {
  if (existingDraftId) {
    throw fail('DRAFT_EXISTS', `the connector already has a draft release (${existingDraftId}); edit it or delete it first`, {
      draftId: existingDraftId,
    })
  }
}

/** Whether a release with this status may be installed into an account (SPEC §1 release settings). */
export function installability(status: string | undefined, enableBetaConnectors: boolean): { installable: boolean; reason?: string } {
  if (status === 'Planned') return { installable: false, reason: 'the release is Planned (coming soon) and cannot be installed' }
  if (status === 'Beta' && !enableBetaConnectors)
    return { installable: false, reason: 'the release is Beta; enable beta connectors for the partner to install it' }
  return { installable: true }
}

export interface Plan {
  allowCustomConnectors: boolean
  maxCustomConnectors: number | null
}

/** Custom connectors come "with certain price plans". */
export function assertPlanAllowsConnector(plan: Plan, existingCount: number): void {
  if (!plan.allowCustomConnectors) {
    throw fail('PLAN_LIMIT', "the partner's plan does not include custom connectors")
  }
  if (plan.maxCustomConnectors !== null && existingCount >= plan.maxCustomConnectors) {
    throw fail(
      'PLAN_LIMIT',
      `the partner's plan allows at most ${plan.maxCustomConnectors} custom connector${plan.maxCustomConnectors === 1 ? '' : 's'}; ${existingCount} exist`,
      { limit: plan.maxCustomConnectors, count: existingCount },
    )
  }
}

// ---- deprecation sunset (issue 8 §6) -----------------------------------------------------------

/** A sunset date this close (or closer) is warned about in listings. */
export const SUNSET_WARNING_DAYS = 30
const DAY_MS = 24 * 60 * 60 * 1000

/** `YYYY-MM-DD` (midnight UTC) or a date-time with `Z` or an offset; a time without a zone is ambiguous. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/

/**
 * Checks a sunset date for a release: only a deprecated one takes it (409), and it must be a valid
 * ISO 8601 date in the future (400 naming `sunsetAt`). Returns it normalised (`toISOString()`).
 */
export function checkSunset(release: { id: string; state: ReleaseState }, sunsetAt: string, now: Date): string {
  if (release.state !== 'deprecated') {
    throw fail('RELEASE_NOT_DEPRECATED', `release ${release.id} is ${release.state}; only a deprecated release can be given a sunset date`, { state: release.state })
  }
  const at = ISO_DATE.test(sunsetAt) ? new Date(sunsetAt) : new Date(NaN)
  if (Number.isNaN(at.getTime())) {
    throw fail('BAD_REQUEST', `sunsetAt: "${sunsetAt}" is not an ISO 8601 date (2027-01-31) or date-time with a zone (2027-01-31T12:00:00Z)`, [{ path: 'body.sunsetAt', message: 'must be an ISO 8601 date or date-time with a zone' }])
  }
  if (at.getTime() <= now.getTime()) {
    throw fail('BAD_REQUEST', `sunsetAt: ${at.toISOString()} is not in the future (now ${now.toISOString()})`, [{ path: 'body.sunsetAt', message: 'must be in the future' }])
  }
  return at.toISOString()
}

export interface SunsetStatus {
  sunsetAt: string | null
  /** whole days left, rounded up; 0 once passed; null without a date */
  daysLeft: number | null
  passed: boolean
  /** set once the date is SUNSET_WARNING_DAYS days away or closer, and after it */
  warning: string | null
}

/** Where a release stands against its sunset date at `now`. */
export function sunsetStatus(release: { state: ReleaseState; version: Version | null; sunsetAt?: string | null }, now: Date): SunsetStatus {
  const sunsetAt = release.state === 'deprecated' ? (release.sunsetAt ?? null) : null
  if (!sunsetAt) return { sunsetAt: null, daysLeft: null, passed: false, warning: null }
  const left = Date.parse(sunsetAt) - now.getTime()
  const v = formatVersion(release.version)
  if (left <= 0) {
    return { sunsetAt, daysLeft: 0, passed: true, warning: `release ${v} reached its sunset on ${sunsetAt}: new installs pinned to it are refused; upgrade what still uses it` }
  }
  const daysLeft = Math.ceil(left / DAY_MS)
  const warning = daysLeft <= SUNSET_WARNING_DAYS ? `release ${v} sunsets in ${daysLeft} day${daysLeft === 1 ? '' : 's'} (${sunsetAt}): upgrade what still uses it` : null
  return { sunsetAt, daysLeft, passed: false, warning }
}

/** Refuses a new install when any release it would pin has passed its sunset date. */
export function assertNotSunset(past: ReadonlyArray<{ id: string; connectorId: string; version: Version | null; sunsetAt: string }>, what: string): void {
  if (!past.length) return
  const names = past.map((r) => `${r.version ? formatVersion(r.version) : r.id} of connector ${r.connectorId} (${r.id}, sunset ${r.sunsetAt})`)
  throw fail('RELEASE_SUNSET', `${what} is refused: ${past.length === 1 ? 'release' : 'releases'} ${names.join(', ')} reached ${past.length === 1 ? 'its' : 'their'} sunset date; upgrade to the live release first`, {
    releases: past.map((r) => ({ releaseId: r.id, connectorId: r.connectorId, version: formatVersion(r.version), sunsetAt: r.sunsetAt })),
  })
}

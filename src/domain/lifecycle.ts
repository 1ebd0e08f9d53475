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

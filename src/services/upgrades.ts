// Release upgrades (SPEC §7): impact of a release on the partner's templates and cycles, and upgrades
// of one template, one cycle or everything on a connector, each with a dry run. Planning is pure
// (domain/upgrade-plan.ts); this service loads pins, decides with it and persists.
import type { ConnectorDefinition } from '../definition/schema.js'
import { formatVersion } from '../domain/lifecycle.js'
import { checkTemplate, type PinnedRelease } from '../domain/template-rules.js'
import { cycleUpgradeDecision, planStepUpgrade, type PlanItem, type PlanRelease, type StepOutcome, type StepUpgradePlan } from '../domain/upgrade-plan.js'
import type { Problem } from '../definition/problems.js'
import type { Step } from '../engine/templates/template-schema.js'
import { fail, notFound } from '../errors/errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { CycleStep } from '../store/repositories/cycles.js'
import type { Store } from '../store/store.js'
import type { Principal } from './partners.js'

/** What a report says about one step (the upgraded step body itself is not echoed). */
export interface StepReport {
  stepKey: string
  methodId: string
  connectorId: string
  from: { releaseId: string; version: string | null }
  to: { releaseId: string; version: string | null }
  outcome: StepOutcome
  kept: string[]
  dropped: PlanItem[]
  needed: PlanItem[]
}

export interface TemplateUpgradeReport {
  templateId: string
  name: string
  dryRun: boolean
  /** the template is (dry run: would be) saved with the new pins */
  upgraded: boolean
  /** problems the upgraded template would have (cross-step mappings, required fields); none when it upgrades */
  problems: Problem[]
  steps: StepReport[]
}

export interface CycleUpgradeReport {
  cycleId: string
  accountId: string
  name: string
  dryRun: boolean
  forced: boolean
  upgraded: boolean
  /** every step can run after the upgrade */
  runnable: boolean
  /** set when the cycle is (would be) paused, or why it is not upgraded */
  reason: string | null
  paused: boolean
  steps: StepReport[]
}

export interface UpgradeOptions {
  dryRun?: boolean
  force?: boolean
}

type PauseCycle = (cycleId: string, reason: string) => Promise<void>

const report = (plan: StepUpgradePlan, connectorId: string): StepReport => ({
  stepKey: plan.stepKey,
  methodId: plan.methodId,
  connectorId,
  from: plan.from,
  to: plan.to,
  outcome: plan.outcome,
  kept: plan.kept,
  dropped: plan.dropped,
  needed: plan.needed,
})

/** Per-request cache of releases: pinned ones by id, targets (live) by connector. */
class Releases {
  readonly #byId = new Map<string, PlanRelease | undefined>()
  readonly #live = new Map<string, PlanRelease | undefined>()
  constructor(private readonly store: Store) {}

  async get(connectorId: string, releaseId: string): Promise<PlanRelease | undefined> {
    if (!this.#byId.has(releaseId)) {
      const r = await this.store.releases.get(connectorId, releaseId)
      this.#byId.set(releaseId, r && { releaseId: r.id, version: formatVersion(r.version), definition: r.definition as ConnectorDefinition })
    }
    return this.#byId.get(releaseId)
  }

  async live(connectorId: string): Promise<PlanRelease | undefined> {
    if (!this.#live.has(connectorId)) {
      const r = await this.store.releases.getByState(connectorId, 'live')
      const plan = r && { releaseId: r.id, version: formatVersion(r.version), definition: r.definition as ConnectorDefinition }
      this.#live.set(connectorId, plan)
      if (plan) this.#byId.set(plan.releaseId, plan)
    }
    return this.#live.get(connectorId)
  }
}

export class UpgradeService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly pauseCycle: PauseCycle,
  ) {}

  /** Plans one step against `to` (default: its connector's live release); undefined for tool steps or unknown pins. */
  private async plan(releases: Releases, step: Step, userValues: CycleStep['userValues'] | undefined, to?: PlanRelease): Promise<StepUpgradePlan | undefined> {
    const c = step.connector
    if (!c?.releaseId) return undefined
    const from = await releases.get(c.connectorId, c.releaseId)
    const target = to ?? (await releases.live(c.connectorId))
    if (!from || !target) return undefined
    return planStepUpgrade({ step, ...(userValues ? { userValues } : {}), from, to: target })
  }

  // ---- impact --------------------------------------------------------------------------------

  /** Who uses the connector, on which release, and what moving each step to `releaseId` would do. */
  async impact(partnerId: string, connectorId: string, releaseId: string) {
    const connector = await this.store.connectors.getVisible(partnerId, connectorId)
    if (!connector) throw notFound('connector', connectorId)
    const target = releaseId === 'live' ? await this.store.releases.getByState(connectorId, 'live') : await this.store.releases.get(connectorId, releaseId)
    if (!target) throw notFound('release', releaseId)
    const to: PlanRelease = { releaseId: target.id, version: formatVersion(target.version), definition: target.definition as ConnectorDefinition }
    const releases = new Releases(this.store)

    const byRelease = new Map<string, { releaseId: string; version: string | null; templateSteps: number; cycleSteps: number }>()
    const count = (plan: StepUpgradePlan, kind: 'templateSteps' | 'cycleSteps') => {
      const entry = byRelease.get(plan.from.releaseId) ?? { releaseId: plan.from.releaseId, version: plan.from.version, templateSteps: 0, cycleSteps: 0 }
      entry[kind]++
      byRelease.set(plan.from.releaseId, entry)
    }
    const breaks = (p: StepUpgradePlan) => p.outcome === 'methodRemoved' || p.dropped.length > 0 || p.needed.length > 0

    const templates = new Map<string, { id: string; name: string; breaking: boolean; steps: StepReport[] }>()
    for (const { templateId, templateName, step } of await this.store.templates.stepsUsingConnector(partnerId, connectorId)) {
      const plan = await this.plan(releases, step, undefined, to)
      if (!plan) continue
      count(plan, 'templateSteps')
      const t = templates.get(templateId) ?? { id: templateId, name: templateName, breaking: false, steps: [] }
      t.steps.push(report(plan, connectorId))
      t.breaking ||= breaks(plan)
      templates.set(templateId, t)
    }
    const cycles = new Map<string, { id: string; accountId: string; name: string; status: string; breaking: boolean; steps: StepReport[] }>()
    for (const { cycle, step } of await this.store.cycles.stepsUsingConnector(partnerId, connectorId)) {
      const plan = await this.plan(releases, step, step.userValues, to)
      if (!plan) continue
      count(plan, 'cycleSteps')
      const y = cycles.get(cycle.id) ?? { ...cycle, breaking: false, steps: [] }
      y.steps.push(report(plan, connectorId))
      y.breaking ||= breaks(plan)
      cycles.set(cycle.id, y)
    }
    const accounts = new Map<string, { id: string; cycles: number; breakingCycles: number }>()
    for (const y of cycles.values()) {
      const a = accounts.get(y.accountId) ?? { id: y.accountId, cycles: 0, breakingCycles: 0 }
      a.cycles++
      if (y.breaking) a.breakingCycles++
      accounts.set(y.accountId, a)
    }
    const t = [...templates.values()]
    const y = [...cycles.values()]
    return {
      connectorId,
      release: { id: target.id, version: formatVersion(target.version), state: target.state },
      summary: {
        templates: t.length,
        breakingTemplates: t.filter((x) => x.breaking).length,
        cycles: y.length,
        breakingCycles: y.filter((x) => x.breaking).length,
        accounts: accounts.size,
        byRelease: [...byRelease.values()],
      },
      templates: t,
      cycles: y,
      accounts: [...accounts.values()],
    }
  }

  // ---- templates -----------------------------------------------------------------------------

  async upgradeTemplate(actor: Principal, templateId: string, opts: UpgradeOptions & { connectorId?: string } = {}, releases = new Releases(this.store)): Promise<TemplateUpgradeReport> {
    const template = await this.store.templates.get(actor.partnerId, templateId)
    if (!template) throw notFound('template', templateId)
    const steps = await this.store.templates.steps(templateId)
    const plans: Array<StepUpgradePlan | undefined> = []
    for (const s of steps) plans.push(!opts.connectorId || s.connector?.connectorId === opts.connectorId ? await this.plan(releases, s, undefined) : undefined)
    const next = steps.map((s, i) => (plans[i] && plans[i]!.outcome !== 'methodRemoved' ? { ...plans[i]!.step, id: s.id } : s))
    const pins: Array<PinnedRelease | undefined> = []
    for (const s of next) {
      const r = s.connector?.releaseId ? await releases.get(s.connector.connectorId, s.connector.releaseId) : undefined
      pins.push(r && { releaseId: r.releaseId, connectorId: s.connector!.connectorId, definition: r.definition })
    }
    const problems = [
      ...checkTemplate({ name: template.name, steps: next }, pins),
      ...plans.filter((p) => p?.outcome === 'methodRemoved').map((p) => ({ path: `/steps/${p!.stepKey}`, message: p!.dropped[0].reason })),
    ]
    const changed = plans.filter((p): p is StepUpgradePlan => !!p && p.outcome !== 'unchanged')
    const result: TemplateUpgradeReport = {
      templateId,
      name: template.name,
      dryRun: !!opts.dryRun,
      upgraded: changed.length > 0 && problems.length === 0,
      problems,
      steps: changed.map((p, i) => report(p, changed[i].step.connector!.connectorId)),
    }
    if (opts.dryRun || !result.upgraded) return result
    const at = this.clock.now().toISOString()
    await this.store.db.transaction().execute(async (tx) => {
      await this.store.templates.upsert(tx, { ...template, updatedAt: at }, next, false)
      await this.record(tx, actor, changed, at, { templateId })
    })
    return result
  }

  // ---- cycles --------------------------------------------------------------------------------

  async upgradeCycle(actor: Principal, accountId: string, cycleId: string, opts: UpgradeOptions & { connectorId?: string } = {}, releases = new Releases(this.store)): Promise<CycleUpgradeReport> {
    const cycle = await this.store.cycles.get(actor.partnerId, cycleId)
    if (!cycle || cycle.accountId !== accountId) throw notFound('cycle', cycleId)
    const steps = await this.store.cycles.steps(cycleId)
    const planned: Array<{ step: CycleStep; plan: StepUpgradePlan }> = []
    for (const s of steps) {
      if (opts.connectorId && s.connector?.connectorId !== opts.connectorId) continue
      const plan = await this.plan(releases, s, s.userValues)
      if (plan && plan.outcome !== 'unchanged') planned.push({ step: s, plan })
    }
    const plans = planned.map((p) => p.plan)
    const decision = cycleUpgradeDecision(plans, !!opts.force)
    const upgraded = planned.length > 0 && decision.apply
    const result: CycleUpgradeReport = {
      cycleId,
      accountId,
      name: cycle.name,
      dryRun: !!opts.dryRun,
      forced: !!opts.force,
      upgraded,
      runnable: decision.runnable,
      reason: decision.reason,
      paused: upgraded && !decision.runnable,
      steps: planned.map(({ step, plan }) => report(plan, step.connector!.connectorId)),
    }
    if (opts.dryRun || !upgraded) return result
    const at = this.clock.now().toISOString()
    // Running transactions loaded their steps when they started; the next one reads the new pins.
    await this.store.db.transaction().execute(async (tx) => {
      for (const { step, plan } of planned) {
        // Forced: inputs still needed become user-configurable, so they show as prerequisites of the cycle.
        const needed = plan.needed.map((n) => n.path.split('.').slice(1).join('.'))
        const userConfigurable = needed.length ? [...new Set([...(plan.step.userConfigurable ?? []), ...needed])] : plan.step.userConfigurable
        await this.store.cycles.replaceStep(tx, { ...step, ...plan.step, ...(userConfigurable ? { userConfigurable } : {}), userValues: plan.userValues ?? step.userValues })
      }
      await this.record(tx, actor, plans, at, { cycleId, accountId, forced: !!opts.force, paused: result.paused })
    })
    if (result.paused) await this.pauseCycle(cycleId, decision.reason!)
    return result
  }

  // ---- everything on a connector -------------------------------------------------------------

  async upgradeConnector(actor: Principal, connectorId: string, opts: UpgradeOptions & { scope?: 'all' | 'templates' | 'cycles' } = {}) {
    const connector = await this.store.connectors.getVisible(actor.partnerId, connectorId)
    if (!connector) throw notFound('connector', connectorId)
    const live = await this.store.releases.getByState(connectorId, 'live')
    if (!live) throw fail('NO_LIVE_RELEASE', 'the connector has no live release to upgrade to')
    const scope = opts.scope ?? 'all'
    // one release cache for the whole run: each pinned release is read and parsed once
    const releases = new Releases(this.store)
    const templates: TemplateUpgradeReport[] = []
    const cycles: CycleUpgradeReport[] = []
    if (scope !== 'cycles') {
      const ids = new Set((await this.store.templates.stepsUsingConnector(actor.partnerId, connectorId)).filter((r) => r.step.connector?.releaseId !== live.id).map((r) => r.templateId))
      for (const id of ids) templates.push(await this.upgradeTemplate(actor, id, { ...opts, connectorId }, releases))
    }
    if (scope !== 'templates') {
      const rows = (await this.store.cycles.stepsUsingConnector(actor.partnerId, connectorId)).filter((r) => r.step.connector?.releaseId !== live.id)
      const seen = new Map(rows.map((r) => [r.cycle.id, r.cycle.accountId]))
      for (const [id, accountId] of seen) cycles.push(await this.upgradeCycle(actor, accountId, id, { ...opts, connectorId }, releases))
    }
    return {
      connectorId,
      to: { releaseId: live.id, version: formatVersion(live.version) },
      dryRun: !!opts.dryRun,
      summary: {
        templates: { upgraded: templates.filter((t) => t.upgraded).length, blocked: templates.filter((t) => !t.upgraded).length },
        cycles: { upgraded: cycles.filter((c) => c.upgraded).length, paused: cycles.filter((c) => c.paused).length, blocked: cycles.filter((c) => !c.upgraded).length },
      },
      templates,
      cycles,
    }
  }

  /** Every applied upgrade is recorded in the history of each connector it moved. */
  private async record(tx: Parameters<Store['history']['record']>[1], actor: Principal, plans: readonly StepUpgradePlan[], at: string, details: Record<string, unknown>): Promise<void> {
    const byTarget = new Map<string, StepUpgradePlan[]>()
    for (const p of plans) byTarget.set(p.to.releaseId, [...(byTarget.get(p.to.releaseId) ?? []), p])
    for (const [releaseId, group] of byTarget) {
      const connectorId = group[0].step.connector!.connectorId
      await this.store.history.record(
        {
          id: newId('hst'),
          connectorId,
          partnerId: actor.partnerId,
          releaseId,
          event: 'upgraded',
          version: group[0].to.version,
          actor: actor.keyId,
          at,
          details: { ...details, steps: group.map((p) => ({ stepKey: p.stepKey, from: p.from, dropped: p.dropped.map((d) => d.path), needed: p.needed.map((n) => n.path) })) },
        },
        tx,
      )
    }
  }
}

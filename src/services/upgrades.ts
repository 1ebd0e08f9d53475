// Release upgrades (SPEC §7): impact of a release on the partner's templates and cycles, and upgrades
// of one step, one template, one cycle or everything on a connector, each with a dry run. Planning is
// pure (domain/upgrade-plan.ts); this service loads pins, runs the target release's `migrate_step`
// script when it has one, decides with the plan and persists.
//
// Bulk upgrades (`upgradeConnector`) plan from the rows of one query (every step of the partner on
// the connector), read and parse each release once, and write many cycles per database transaction:
// steps whose new row is identical share one `UPDATE … WHERE id IN (…)`, and the history of a batch
// is one multi-row insert (docs/benchmarks.md "upgrades").
import { Compile } from 'typebox/compile'
import type { ConnectorDefinition } from '../definition/schema.js'
import { formatVersion } from '../domain/lifecycle.js'
import { checkTemplate, type PinnedRelease } from '../domain/template-rules.js'
import {
  cycleUpgradeDecision,
  planStepUpgrade,
  type MigratedStep,
  type PlanItem,
  type PlanRelease,
  type PlanValue,
  type StepMigration,
  type StepOutcome,
  type StepUpgradePlan,
} from '../domain/upgrade-plan.js'
import type { Problem } from '../definition/problems.js'
import { Mapping, type Step } from '../engine/templates/template-schema.js'
import { fail, notFound } from '../errors/errors.js'
import type { ScriptRunner } from '../scripting/script-runner.js'
import { runMigrateStep } from '../scripting/migrate-step.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Cycle, CycleStep } from '../store/repositories/cycles.js'
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
  /** only when the target release has a `migrate_step` script: what it returned, or its error */
  migration?: StepMigration
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

/** Restricts an upgrade: one connector's steps (bulk), or one step by key. */
interface Scope {
  connectorId?: string
  stepKey?: string
}

type PauseCycle = (cycleId: string, reason: string) => Promise<void>

export interface UpgradeDeps {
  /** the script sandbox, for releases with a `migrate_step` script (started on first use) */
  scripts?: () => Promise<Pick<ScriptRunner, 'evalExpression'>>
  /** told which cycles' steps changed (the engine forgets its cached copy of them) */
  onCycleStepsChanged?: (cycleIds: readonly string[]) => void
}

/** Cycles written per database transaction in a bulk upgrade. */
const BATCH_CYCLES = 500
/** Ids per `IN (…)` list (well under SQLite's and PostgreSQL's parameter limits). */
const IN_CHUNK = 900

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
  ...(plan.migration ? { migration: plan.migration } : {}),
})

/** A plan that moves its step (a step whose method is gone or whose migration failed stays). */
const moves = (p: StepUpgradePlan) => p.outcome !== 'unchanged' && p.outcome !== 'methodRemoved' && p.outcome !== 'migrationFailed'

const checkMapping = Compile(Mapping)
const isPlanValue = (v: unknown): v is PlanValue => v === null || ['string', 'number', 'boolean'].includes(typeof v)
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Checks what a migrate_step script returned; `null` keeps the step as it was. */
function migratedStep(value: unknown, before: MigratedStep): { ok: true; result: MigratedStep } | { ok: false; error: string } {
  if (value === null) return { ok: true, result: before }
  if (!isObject(value)) return { ok: false, error: 'migrate_step must return an object {methodId?, fields?, parameters?, userConfigurable?, userValues?} or nothing' }
  const out: MigratedStep = { ...before }
  if (value.methodId !== undefined) {
    if (typeof value.methodId !== 'string' || !value.methodId) return { ok: false, error: 'migrate_step returned a methodId that is not a non-empty string' }
    out.methodId = value.methodId
  }
  for (const k of ['fields', 'parameters'] as const) {
    if (value[k] === undefined) continue
    const v = value[k]
    if (!isObject(v)) return { ok: false, error: `migrate_step returned ${k} that is not an object of mappings` }
    for (const [name, m] of Object.entries(v)) if (!checkMapping.Check(m)) return { ok: false, error: `migrate_step returned an invalid mapping for ${k}.${name}` }
    out[k] = v as Record<string, Mapping>
  }
  if (value.userConfigurable !== undefined) {
    if (!Array.isArray(value.userConfigurable) || !value.userConfigurable.every((n) => typeof n === 'string')) return { ok: false, error: 'migrate_step returned userConfigurable that is not a list of names' }
    out.userConfigurable = value.userConfigurable as string[]
  }
  if (value.userValues !== undefined && before.userValues !== undefined) {
    if (!isObject(value.userValues) || !Object.values(value.userValues).every(isPlanValue)) return { ok: false, error: 'migrate_step returned userValues that are not an object of text, number, boolean or null values' }
    out.userValues = value.userValues as Record<string, PlanValue>
  }
  return { ok: true, result: out }
}

/**
 * Per-request (or per bulk run) cache: pinned releases by id, targets (live) by connector, each read
 * and parsed once; and migrate_step results by input (a script is a function of its input).
 */
class Releases {
  readonly #byId = new Map<string, Promise<PlanRelease | undefined>>()
  readonly #live = new Map<string, Promise<PlanRelease | undefined>>()
  readonly #migrations = new Map<string, Promise<StepMigration>>()
  constructor(
    private readonly store: Store,
    private readonly partnerId: string,
    private readonly scripts: UpgradeDeps['scripts'],
  ) {}

  get(connectorId: string, releaseId: string): Promise<PlanRelease | undefined> {
    let r = this.#byId.get(releaseId)
    if (!r) {
      r = this.store.releases.get(connectorId, releaseId).then((x) => x && { releaseId: x.id, version: formatVersion(x.version), definition: x.definition as ConnectorDefinition })
      this.#byId.set(releaseId, r)
    }
    return r
  }

  live(connectorId: string): Promise<PlanRelease | undefined> {
    let r = this.#live.get(connectorId)
    if (!r) {
      r = this.store.releases.getByState(connectorId, 'live').then((x) => {
        const plan = x && { releaseId: x.id, version: formatVersion(x.version), definition: x.definition as ConnectorDefinition }
        if (plan && !this.#byId.has(plan.releaseId)) this.#byId.set(plan.releaseId, Promise.resolve(plan))
        return plan
      })
      this.#live.set(connectorId, r)
    }
    return r
  }

  /** The target release's migrate_step script applied to one step; undefined when it has none. */
  async migrate(step: Step, userValues: CycleStep['userValues'] | undefined, from: PlanRelease, to: PlanRelease): Promise<StepMigration | undefined> {
    const source = to.definition.migrations?.migrate_step
    const c = step.connector
    if (!source?.trim() || !c || from.releaseId === to.releaseId) return undefined
    const before = {
      methodId: c.methodId,
      fields: step.fields ?? {},
      parameters: step.parameters ?? {},
      userConfigurable: step.userConfigurable ?? [],
      ...(userValues ? { userValues } : {}),
    }
    const input = {
      step: before,
      context: {
        stepKey: step.key,
        kind: userValues ? ('cycle' as const) : ('template' as const),
        from: { releaseId: from.releaseId, version: from.version, method: from.definition.methods?.find((m) => m.id === c.methodId) ?? null },
        to: { releaseId: to.releaseId, version: to.version, method: to.definition.methods?.find((m) => m.id === c.methodId) ?? null },
      },
    }
    const key = `${from.releaseId}>${to.releaseId}:${JSON.stringify(input.step)}:${step.key}`
    let m = this.#migrations.get(key)
    if (!m) {
      m = (async (): Promise<StepMigration> => {
        if (!this.scripts) return { ok: false, error: 'migrate_step scripts cannot run here (no script sandbox)' }
        const r = await runMigrateStep(await this.scripts(), source, input, { isolationKey: `${this.partnerId}/migrate/${to.releaseId}` })
        // keys the script leaves out keep the step's own (absent stays absent)
        const sparse: MigratedStep = {
          methodId: c.methodId,
          ...(step.fields ? { fields: step.fields } : {}),
          ...(step.parameters ? { parameters: step.parameters } : {}),
          ...(step.userConfigurable ? { userConfigurable: step.userConfigurable } : {}),
          ...(userValues ? { userValues } : {}),
        }
        return r.ok ? migratedStep(r.value, sparse) : r
      })()
      this.#migrations.set(key, m)
    }
    return m
  }
}

/** The row a moved cycle step gets (identical rows share one UPDATE). */
interface StepWrite {
  key: string
  set: { release_id: string | null; method_id: string | null; config: string; user_values: string }
}

/** One planned step of a cycle: its plan, its report and (when it moves) its new row. */
interface PlannedStep {
  stepId: string
  plan: StepUpgradePlan
  report: StepReport
  write: StepWrite | undefined
}

/** One cycle's planned upgrade, before it is written. */
interface CyclePlan {
  cycle: Pick<Cycle, 'id' | 'accountId' | 'name'>
  planned: PlannedStep[]
  decision: ReturnType<typeof cycleUpgradeDecision>
  report: CycleUpgradeReport
}

/** The row of a cycle step after `plan` (forced: inputs still needed become user-configurable, so they show as prerequisites). */
function stepWrite(plan: StepUpgradePlan, userValuesBefore: CycleStep['userValues']): StepWrite {
  const needed = plan.needed.map((n) => n.path.split('.').slice(1).join('.'))
  const userConfigurable = needed.length ? [...new Set([...(plan.step.userConfigurable ?? []), ...needed])] : plan.step.userConfigurable
  const next = { ...(plan.step as CycleStep), ...(userConfigurable ? { userConfigurable } : {}), userValues: plan.userValues ?? userValuesBefore }
  const { id: _i, position: _p, key: _k, type: _t, connector, accountConnectorId: _a, userValues, lastSuccessfulRunAt: _l, ...config } = next
  const set = { release_id: connector?.releaseId ?? null, method_id: connector?.methodId ?? null, config: JSON.stringify(config), user_values: JSON.stringify(userValues) }
  return { key: `${set.release_id}\u0000${set.method_id}\u0000${set.config}\u0000${set.user_values}`, set }
}

/** A cycle step row as the bulk upgrade reads it (no per-cycle reloads). */
interface BulkRow {
  id: string
  cycle_id: string
  account_id: string
  cycle_name: string
  step_key: string
  type: string
  connector_id: string | null
  release_id: string | null
  method_id: string | null
  config: string
  user_values: string
}

export class UpgradeService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly pauseCycle: PauseCycle,
    private readonly deps: UpgradeDeps = {},
  ) {}

  private releases(partnerId: string): Releases {
    return new Releases(this.store, partnerId, this.deps.scripts)
  }

  /** Plans one step against `to` (default: its connector's live release); undefined for tool steps or unknown pins. */
  private async plan(releases: Releases, step: Step, userValues: CycleStep['userValues'] | undefined, to?: PlanRelease): Promise<StepUpgradePlan | undefined> {
    const c = step.connector
    if (!c?.releaseId) return undefined
    const from = await releases.get(c.connectorId, c.releaseId)
    const target = to ?? (await releases.live(c.connectorId))
    if (!from || !target) return undefined
    const migration = await releases.migrate(step, userValues, from, target)
    return planStepUpgrade({ step, ...(userValues ? { userValues } : {}), from, to: target, ...(migration ? { migration } : {}) })
  }

  // ---- impact --------------------------------------------------------------------------------

  /** Who uses the connector, on which release, and what moving each step to `releaseId` would do. */
  async impact(partnerId: string, connectorId: string, releaseId: string) {
    const connector = await this.store.connectors.getVisible(partnerId, connectorId)
    if (!connector) throw notFound('connector', connectorId)
    const target = releaseId === 'live' ? await this.store.releases.getByState(connectorId, 'live') : await this.store.releases.get(connectorId, releaseId)
    if (!target) throw notFound('release', releaseId)
    const to: PlanRelease = { releaseId: target.id, version: formatVersion(target.version), definition: target.definition as ConnectorDefinition }
    const releases = this.releases(partnerId)

    const byRelease = new Map<string, { releaseId: string; version: string | null; templateSteps: number; cycleSteps: number }>()
    const count = (plan: StepUpgradePlan, kind: 'templateSteps' | 'cycleSteps') => {
      const entry = byRelease.get(plan.from.releaseId) ?? { releaseId: plan.from.releaseId, version: plan.from.version, templateSteps: 0, cycleSteps: 0 }
      entry[kind]++
      byRelease.set(plan.from.releaseId, entry)
    }
    const breaks = (p: StepUpgradePlan) => p.outcome === 'methodRemoved' || p.outcome === 'migrationFailed' || p.dropped.length > 0 || p.needed.length > 0

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

  async upgradeTemplate(actor: Principal, templateId: string, opts: UpgradeOptions & Scope = {}, releases = this.releases(actor.partnerId)): Promise<TemplateUpgradeReport> {
    const template = await this.store.templates.get(actor.partnerId, templateId)
    if (!template) throw notFound('template', templateId)
    const steps = await this.store.templates.steps(templateId)
    if (opts.stepKey !== undefined && !steps.some((s) => s.key === opts.stepKey)) throw notFound('step', opts.stepKey)
    const inScope = (s: Step) => (!opts.connectorId || s.connector?.connectorId === opts.connectorId) && (opts.stepKey === undefined || s.key === opts.stepKey)
    const plans: Array<StepUpgradePlan | undefined> = []
    for (const s of steps) plans.push(inScope(s) ? await this.plan(releases, s, undefined) : undefined)
    const next = steps.map((s, i) => (plans[i] && moves(plans[i]!) ? { ...plans[i]!.step, id: s.id } : s))
    const pins: Array<PinnedRelease | undefined> = []
    for (const s of next) {
      const r = s.connector?.releaseId ? await releases.get(s.connector.connectorId, s.connector.releaseId) : undefined
      pins.push(r && { releaseId: r.releaseId, connectorId: s.connector!.connectorId, definition: r.definition })
    }
    const problems = [
      ...checkTemplate({ name: template.name, steps: next }, pins),
      ...plans.filter((p) => p?.outcome === 'methodRemoved').map((p) => ({ path: `/steps/${p!.stepKey}`, message: p!.dropped[0].reason })),
    ]
    // reported: every step that would change, and every step whose migration failed (it stays)
    const changed = plans.filter((p): p is StepUpgradePlan => !!p && p.outcome !== 'unchanged')
    const moved = changed.filter(moves)
    const result: TemplateUpgradeReport = {
      templateId,
      name: template.name,
      dryRun: !!opts.dryRun,
      upgraded: moved.length > 0 && problems.length === 0,
      problems,
      steps: changed.map((p) => report(p, p.step.connector!.connectorId)),
    }
    if (opts.dryRun || !result.upgraded) return result
    const at = this.clock.now().toISOString()
    await this.store.db.transaction().execute(async (tx) => {
      await this.store.templates.upsert(tx, { ...template, updatedAt: at }, next, false)
      await this.insertHistory(tx, this.historyRows(actor, moved, at, { templateId }))
    })
    return result
  }

  // ---- cycles --------------------------------------------------------------------------------

  /** A cycle's plan from its planned steps (unchanged ones left out). */
  private cyclePlan(cycle: CyclePlan['cycle'], planned: PlannedStep[], opts: UpgradeOptions): CyclePlan {
    // A step whose migration failed stays where it is (reported); the others decide the cycle.
    const decision = cycleUpgradeDecision(
      planned.filter((p) => p.plan.outcome !== 'migrationFailed').map((p) => p.plan),
      !!opts.force,
    )
    const upgraded = decision.apply && planned.some((p) => p.write)
    return {
      cycle,
      planned,
      decision,
      report: {
        cycleId: cycle.id,
        accountId: cycle.accountId,
        name: cycle.name,
        dryRun: !!opts.dryRun,
        forced: !!opts.force,
        upgraded,
        runnable: decision.runnable,
        reason: decision.reason,
        paused: upgraded && !decision.runnable,
        steps: planned.map((p) => p.report),
      },
    }
  }

  /** Plans a cycle's upgrade from its loaded steps. */
  private async planCycle(cycle: CyclePlan['cycle'], steps: readonly CycleStep[], opts: UpgradeOptions & Scope, releases: Releases): Promise<CyclePlan> {
    const planned: PlannedStep[] = []
    for (const s of steps) {
      if (opts.connectorId && s.connector?.connectorId !== opts.connectorId) continue
      if (opts.stepKey !== undefined && s.key !== opts.stepKey) continue
      const plan = await this.plan(releases, s, s.userValues)
      if (plan && plan.outcome !== 'unchanged') planned.push({ stepId: s.id, plan, report: report(plan, s.connector!.connectorId), write: moves(plan) ? stepWrite(plan, s.userValues) : undefined })
    }
    return this.cyclePlan(cycle, planned, opts)
  }

  async upgradeCycle(actor: Principal, accountId: string, cycleId: string, opts: UpgradeOptions & Scope = {}, releases = this.releases(actor.partnerId)): Promise<CycleUpgradeReport> {
    const cycle = await this.store.cycles.get(actor.partnerId, cycleId)
    if (!cycle || cycle.accountId !== accountId) throw notFound('cycle', cycleId)
    const steps = await this.store.cycles.steps(cycleId)
    if (opts.stepKey !== undefined && !steps.some((s) => s.key === opts.stepKey)) throw notFound('step', opts.stepKey)
    const plan = await this.planCycle(cycle, steps, opts, releases)
    if (!opts.dryRun && plan.report.upgraded) await this.applyCycles(actor, [plan], !!opts.force)
    return plan.report
  }

  /**
   * Writes upgraded cycles in one database transaction: rows that end up identical (same pin,
   * method, configuration and user values) share one UPDATE, and the history is one multi-row
   * insert. Then pauses the cycles a forced upgrade left unrunnable.
   */
  private async applyCycles(actor: Principal, plans: readonly CyclePlan[], forced: boolean): Promise<void> {
    const upgraded = plans.filter((p) => p.report.upgraded)
    if (!upgraded.length) return
    const at = this.clock.now().toISOString()
    const groups = new Map<string, { set: StepWrite['set']; ids: string[] }>()
    const history: HistoryRow[] = []
    for (const { cycle, planned, report: r } of upgraded) {
      const moving: StepUpgradePlan[] = []
      for (const p of planned) {
        if (!p.write) continue
        moving.push(p.plan)
        const g = groups.get(p.write.key)
        if (g) g.ids.push(p.stepId)
        else groups.set(p.write.key, { set: p.write.set, ids: [p.stepId] })
      }
      history.push(...this.historyRows(actor, moving, at, { cycleId: cycle.id, accountId: cycle.accountId, forced, paused: r.paused }))
    }
    // Running transactions finish on what they loaded; the next one reads the new pins.
    await this.store.db.transaction().execute(async (tx) => {
      for (const { set, ids } of groups.values()) {
        for (let i = 0; i < ids.length; i += IN_CHUNK) await tx.updateTable('cycle_steps').set(set).where('id', 'in', ids.slice(i, i + IN_CHUNK)).execute()
      }
      await this.insertHistory(tx, history)
    })
    this.deps.onCycleStepsChanged?.(upgraded.map((p) => p.cycle.id))
    for (const p of upgraded) if (p.report.paused) await this.pauseCycle(p.cycle.id, p.decision.reason!)
  }

  /**
   * Bulk: the partner's cycle steps on the connector in one query, in cycle order. Steps with the
   * same content (key, pin, method, configuration, user values) are planned once; cycles come out
   * one by one so the caller can write them in batches.
   */
  private async *bulkCyclePlans(actor: Principal, connectorId: string, liveId: string, opts: UpgradeOptions, releases: Releases): AsyncGenerator<CyclePlan> {
    const rows: BulkRow[] = await this.store.db
      .selectFrom('cycle_steps')
      .innerJoin('cycles', 'cycles.id', 'cycle_steps.cycle_id')
      .select(['cycle_steps.id', 'cycle_steps.cycle_id', 'cycles.account_id', 'cycles.name as cycle_name', 'cycle_steps.step_key', 'cycle_steps.type', 'cycle_steps.connector_id', 'cycle_steps.release_id', 'cycle_steps.method_id', 'cycle_steps.config', 'cycle_steps.user_values'])
      .where('cycle_steps.partner_id', '=', actor.partnerId)
      .where('cycle_steps.connector_id', '=', connectorId)
      .orderBy('cycle_steps.cycle_id')
      .orderBy('cycle_steps.position')
      .execute()
    const memo = new Map<string, Omit<PlannedStep, 'stepId'> | null>()
    const planRow = async (r: BulkRow): Promise<Omit<PlannedStep, 'stepId'> | null> => {
      if (!r.release_id || !r.connector_id) return null
      const key = `${r.step_key}\u0000${r.type}\u0000${r.release_id}\u0000${r.method_id}\u0000${r.config}\u0000${r.user_values}`
      let m = memo.get(key)
      if (m === undefined) {
        const userValues = JSON.parse(r.user_values) as CycleStep['userValues']
        const step = { key: r.step_key, type: r.type as Step['type'], connector: { connectorId: r.connector_id, releaseId: r.release_id, methodId: r.method_id ?? '' }, ...JSON.parse(r.config) } as Step
        const plan = await this.plan(releases, step, userValues)
        m = plan && plan.outcome !== 'unchanged' ? { plan, report: report(plan, r.connector_id), write: moves(plan) ? stepWrite(plan, userValues) : undefined } : null
        memo.set(key, m)
      }
      return m
    }
    for (let i = 0; i < rows.length; ) {
      const first = rows[i]
      let j = i
      let outdated = false
      while (j < rows.length && rows[j].cycle_id === first.cycle_id) {
        if (rows[j].release_id !== liveId) outdated = true
        j++
      }
      if (outdated) {
        const planned: PlannedStep[] = []
        for (let k = i; k < j; k++) {
          const m = await planRow(rows[k])
          if (m) planned.push({ stepId: rows[k].id, ...m })
        }
        yield this.cyclePlan({ id: first.cycle_id, accountId: first.account_id, name: first.cycle_name }, planned, opts)
      }
      i = j
    }
  }

  // ---- one step ------------------------------------------------------------------------------

  /** One template step: the template is checked whole, only that step moves. */
  upgradeTemplateStep(actor: Principal, templateId: string, stepKey: string, opts: UpgradeOptions = {}): Promise<TemplateUpgradeReport> {
    return this.upgradeTemplate(actor, templateId, { dryRun: !!opts.dryRun, stepKey })
  }

  /** One cycle step: only that step moves (forced: the cycle is paused when the step needs input). */
  upgradeCycleStep(actor: Principal, accountId: string, cycleId: string, stepKey: string, opts: UpgradeOptions = {}): Promise<CycleUpgradeReport> {
    return this.upgradeCycle(actor, accountId, cycleId, { ...opts, stepKey })
  }

  // ---- everything on a connector -------------------------------------------------------------

  async upgradeConnector(actor: Principal, connectorId: string, opts: UpgradeOptions & { scope?: 'all' | 'templates' | 'cycles' } = {}) {
    const connector = await this.store.connectors.getVisible(actor.partnerId, connectorId)
    if (!connector) throw notFound('connector', connectorId)
    const live = await this.store.releases.getByState(connectorId, 'live')
    if (!live) throw fail('NO_LIVE_RELEASE', 'the connector has no live release to upgrade to')
    const scope = opts.scope ?? 'all'
    // one release cache for the whole run: each pinned release is read and parsed once
    const releases = this.releases(actor.partnerId)
    const templates: TemplateUpgradeReport[] = []
    const cycles: CycleUpgradeReport[] = []
    const { dryRun, force } = opts
    if (scope !== 'cycles') {
      const ids = new Set((await this.store.templates.stepsUsingConnector(actor.partnerId, connectorId)).filter((r) => r.step.connector?.releaseId !== live.id).map((r) => r.templateId))
      for (const id of ids) templates.push(await this.upgradeTemplate(actor, id, { dryRun, force, connectorId }, releases))
    }
    if (scope !== 'templates') {
      // One query, plans from its rows, many cycles written per database transaction.
      let batch: CyclePlan[] = []
      for await (const plan of this.bulkCyclePlans(actor, connectorId, live.id, { dryRun, force }, releases)) {
        cycles.push(plan.report)
        if (dryRun || !plan.report.upgraded) continue
        batch.push(plan)
        if (batch.length >= BATCH_CYCLES) {
          await this.applyCycles(actor, batch, !!force)
          batch = []
        }
      }
      if (!dryRun) await this.applyCycles(actor, batch, !!force)
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

  // ---- history -------------------------------------------------------------------------------

  /** Every applied upgrade is recorded in the history of each connector it moved, per target release. */
  private historyRows(actor: Principal, plans: readonly StepUpgradePlan[], at: string, details: Record<string, unknown>): HistoryRow[] {
    const byTarget = new Map<string, StepUpgradePlan[]>()
    for (const p of plans) byTarget.set(p.to.releaseId, [...(byTarget.get(p.to.releaseId) ?? []), p])
    return [...byTarget].map(([releaseId, group]) => ({
      id: newId('hst'),
      connector_id: group[0].step.connector!.connectorId,
      partner_id: actor.partnerId,
      release_id: releaseId,
      event: 'upgraded',
      version: group[0].to.version,
      actor: actor.keyId,
      at,
      details: JSON.stringify({
        ...details,
        steps: group.map((p) => ({
          stepKey: p.stepKey,
          from: p.from,
          dropped: p.dropped.map((d) => d.path),
          needed: p.needed.map((n) => n.path),
          ...(p.migration?.ok && p.migration.result.methodId !== p.methodId ? { methodId: { from: p.methodId, to: p.migration.result.methodId } } : {}),
        })),
      }),
    }))
  }

  private async insertHistory(tx: TxLike, rows: readonly HistoryRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) await tx.insertInto('connector_history').values(rows.slice(i, i + 500)).execute()
  }
}

type TxLike = Pick<Store['db'], 'insertInto'>

interface HistoryRow {
  id: string
  connector_id: string
  partner_id: string
  release_id: string
  event: 'upgraded'
  version: string | null
  actor: string
  at: string
  details: string
}

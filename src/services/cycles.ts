// Cycles (SPEC §5): a template installed in an account, paused until its prerequisites are met,
// then activated on an interval, from a start time, or once.
import type { ConnectorDefinition } from '../definition/schema.js'
import { ACTIVATION_INTERVALS, cyclePrerequisites, type Prerequisite, type StepFacts } from '../domain/cycle-prerequisites.js'
import { findMethod } from '../domain/template-rules.js'
import { fail, notFound } from '../errors/errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Cycle, CycleStep, UserValue } from '../store/repositories/cycles.js'
import type { Store } from '../store/store.js'
import type { Principal } from './partners.js'
import { stepReleaseInfo, type StepReleaseInfo } from './step-updates.js'
import type { WebhookService } from './webhooks.js'
import { refuseSunsetInstall } from './release-sunset.js'

/** How the engine runs cycles; the service decides when. */
export interface CycleScheduler {
  /** (Re)schedules an active polling cycle: every intervalMinutes, from startAt. */
  schedule(cycle: Cycle): Promise<void>
  unschedule(cycleId: string): Promise<void>
  /** Fires the trigger once, now. */
  runNow(cycleId: string): Promise<void>
  /** Queued transactions of the cycle that have not started are dropped. */
  dropQueued(cycleId: string): Promise<number>
}

export interface InstallInput {
  accountId: string
  name?: string
  /** connectorId → account connector id; otherwise the account's connector of that kind is reused */
  accountConnectors?: Record<string, string>
  /** stepKey → values of user-configurable fields and parameters */
  values?: Record<string, Record<string, UserValue>>
}

export interface ActivateInput {
  interval?: number
  startTime?: string
  runOnce?: boolean
}

export interface CycleView extends Omit<Cycle, 'partnerId'> {
  /** a webhook trigger step also shows its URL (`webhookId`, `webhookUrl`) */
  steps: Array<CycleStep & StepReleaseInfo & { webhookId?: string; webhookUrl?: string }>
  prerequisites: Prerequisite[]
}

export class CycleService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly scheduler: CycleScheduler,
    private readonly webhooks?: WebhookService,
  ) {}

  async install(actor: Principal, templateId: string, input: InstallInput): Promise<CycleView & { missingConnectors: Array<{ connectorId: string; stepKeys: string[] }> }> {
    const template = await this.store.templates.get(actor.partnerId, templateId)
    if (!template) throw notFound('template', templateId)
    const account = await this.store.accounts.get(actor.partnerId, input.accountId)
    if (!account) throw notFound('account', input.accountId)
    const tSteps = await this.store.templates.steps(templateId)
    await refuseSunsetInstall(this.store, this.clock.now(), tSteps.map((s) => s.connector?.releaseId), `installing template ${templateId}`)

    const chosen = new Map<string, string | null>()
    for (const [connectorId, acId] of Object.entries(input.accountConnectors ?? {})) {
      const ac = await this.store.accountConnectors.get(actor.partnerId, account.id, acId)
      if (!ac || ac.connectorId !== connectorId) throw fail('BAD_REQUEST', `accountConnectors.${connectorId}: account connector ${acId} of this account for that connector not found`, [{ path: `body.accountConnectors.${connectorId}`, message: 'no such account connector of this account and connector' }])
      chosen.set(connectorId, ac.id)
    }
    const missing = new Map<string, string[]>()
    for (const s of tSteps) {
      if (!s.connector) continue
      const cid = s.connector.connectorId
      if (!chosen.has(cid)) {
        const [reuse] = await this.store.accountConnectors.list(actor.partnerId, account.id, { limit: 1, connectorId: cid })
        chosen.set(cid, reuse?.id ?? null)
      }
      if (chosen.get(cid) === null) missing.set(cid, [...(missing.get(cid) ?? []), s.key])
    }
    for (const key of Object.keys(input.values ?? {})) {
      if (!tSteps.some((s) => s.key === key)) throw fail('BAD_REQUEST', `values.${key}: the template has no step "${key}"`, [{ path: `body.values.${key}`, message: 'no such step' }])
    }

    const at = this.clock.now().toISOString()
    const cycle: Cycle = {
      id: newId('cyc'),
      partnerId: actor.partnerId,
      accountId: account.id,
      templateId,
      name: input.name ?? template.name,
      status: 'paused',
      statusReason: null,
      intervalMinutes: null,
      startAt: null,
      runOnce: false,
      settings: template.settings,
      activatedAt: null,
      createdAt: at,
      updatedAt: at,
    }
    const steps: CycleStep[] = tSteps.map(({ id: _templateStepId, ...s }, position) => ({
      ...s,
      id: newId('cst'),
      position,
      accountConnectorId: s.connector ? (chosen.get(s.connector.connectorId) ?? null) : null,
      userValues: input.values?.[s.key] ?? {},
      lastSuccessfulRunAt: null,
    }))
    await this.store.db.transaction().execute((tx) => this.store.cycles.insert(tx, cycle, steps))
    if (this.webhooks && (await this.isWebhookTriggered(steps))) await this.webhooks.ensureEndpoint(cycle.partnerId, cycle.id, steps[0]!.id)
    const view = await this.get(actor.partnerId, account.id, cycle.id)
    return { ...view, missingConnectors: [...missing].map(([connectorId, stepKeys]) => ({ connectorId, stepKeys })) }
  }

  private async load(partnerId: string, accountId: string, id: string): Promise<Cycle> {
    const c = await this.store.cycles.get(partnerId, id)
    if (!c || c.accountId !== accountId) throw notFound('cycle', id)
    return c
  }

  async prerequisites(cycle: Cycle, steps: CycleStep[]): Promise<Prerequisite[]> {
    const facts: StepFacts[] = []
    const definitions = new Map<string, ConnectorDefinition | undefined>()
    for (const step of steps) {
      let definition: ConnectorDefinition | undefined
      if (step.connector?.releaseId) {
        const rid = step.connector.releaseId
        if (!definitions.has(rid)) definitions.set(rid, (await this.store.releases.get(step.connector.connectorId, rid))?.definition)
        definition = definitions.get(rid)
      }
      const ac = step.accountConnectorId ? await this.store.accountConnectors.get(cycle.partnerId, cycle.accountId, step.accountConnectorId) : undefined
      facts.push({ step, definition, accountConnector: ac && { id: ac.id, authenticated: ac.authenticated } })
    }
    return cyclePrerequisites(cycle.id, facts)
  }

  async get(partnerId: string, accountId: string, id: string): Promise<CycleView> {
    const cycle = await this.load(partnerId, accountId, id)
    const steps = await this.store.cycles.steps(id)
    const { partnerId: _p, ...view } = cycle
    const info = await stepReleaseInfo(this.store, steps)
    const hook = this.webhooks && steps[0] ? await this.webhooks.endpointOfStep(steps[0].id) : undefined
    const withHook = (s: CycleStep, i: number) => (i === 0 && hook ? { webhookId: hook.id, webhookUrl: this.webhooks!.url(hook.id) } : {})
    return { ...view, steps: steps.map((s, i) => ({ ...s, ...info[i], ...withHook(s, i) })), prerequisites: await this.prerequisites(cycle, steps) }
  }

  async list(partnerId: string, accountId: string, opts: { limit: number; after?: string; status?: Cycle['status'] }) {
    if (!(await this.store.accounts.get(partnerId, accountId))) throw notFound('account', accountId)
    return (await this.store.cycles.list(partnerId, accountId, opts)).map(({ partnerId: _p, ...c }) => c)
  }

  /** Sets user-configurable values and/or the account connector of a step (paused cycles only). */
  async updateStep(actor: Principal, accountId: string, id: string, stepKey: string, input: { values?: Record<string, UserValue>; accountConnectorId?: string }): Promise<CycleView> {
    const cycle = await this.load(actor.partnerId, accountId, id)
    if (cycle.status === 'active') throw fail('CONFLICT', 'deactivate the cycle before changing its steps')
    const step = (await this.store.cycles.steps(id)).find((s) => s.key === stepKey)
    if (!step) throw notFound('step', stepKey)
    if (input.values) {
      const allowed = new Set(step.userConfigurable ?? [])
      const unknown = Object.keys(input.values).filter((k) => !allowed.has(k))
      if (unknown.length) throw fail('BAD_REQUEST', `step "${stepKey}" has no user-configurable ${unknown.map((k) => `"${k}"`).join(', ')}`, unknown.map((k) => ({ path: `body.values.${k}`, message: 'not user-configurable' })))
    }
    if (input.accountConnectorId !== undefined) {
      const ac = await this.store.accountConnectors.get(actor.partnerId, accountId, input.accountConnectorId)
      if (!ac || ac.connectorId !== step.connector?.connectorId) throw fail('BAD_REQUEST', 'accountConnectorId: not an account connector of this account for the step\'s connector', [{ path: 'body.accountConnectorId', message: 'no such account connector' }])
    }
    await this.store.cycles.setStepValues(step.id, { userValues: input.values ? { ...step.userValues, ...input.values } : undefined, accountConnectorId: input.accountConnectorId })
    return this.get(actor.partnerId, accountId, id)
  }

  async activate(actor: Principal, accountId: string, id: string, input: ActivateInput): Promise<CycleView> {
    const cycle = await this.load(actor.partnerId, accountId, id)
    const steps = await this.store.cycles.steps(id)
    const webhook = await this.isWebhookTriggered(steps)
    if (input.interval !== undefined && !(ACTIVATION_INTERVALS as readonly number[]).includes(input.interval)) {
      throw fail('BAD_REQUEST', `interval must be one of ${ACTIVATION_INTERVALS.join(', ')} minutes; got ${input.interval}`, [{ path: 'body.interval', message: `must be one of ${ACTIVATION_INTERVALS.join(', ')}` }])
    }
    if (input.startTime !== undefined && Number.isNaN(Date.parse(input.startTime))) {
      throw fail('BAD_REQUEST', 'startTime must be an ISO 8601 date-time', [{ path: 'body.startTime', message: 'is not a date-time' }])
    }
    if (!webhook && !input.runOnce && input.interval === undefined) throw fail('BAD_REQUEST', 'give an interval (minutes) or runOnce: true', [{ path: 'body.interval', message: 'is required unless runOnce' }])
    const prerequisites = await this.prerequisites(cycle, steps)
    if (prerequisites.length) throw fail('PREREQUISITES_UNMET', `the cycle cannot be activated: ${prerequisites.map((p) => p.message).join('; ')}`, prerequisites)

    const at = this.clock.now().toISOString()
    const active: Cycle = { ...cycle, status: 'active', statusReason: null, intervalMinutes: webhook || input.runOnce ? null : (input.interval ?? null), startAt: input.startTime ?? null, runOnce: !!input.runOnce && !webhook, activatedAt: at, updatedAt: at }
    await this.store.cycles.update(id, { status: 'active', status_reason: null, interval_minutes: active.intervalMinutes, start_at: active.startAt, run_once: active.runOnce ? 1 : 0, activated_at: at, updated_at: at })
    if (!webhook) await this.scheduler.schedule(active)
    else if (this.webhooks) {
      // Active first: some APIs send a test delivery while the subscription is being made.
      try {
        await this.webhooks.subscribe(active, steps[0]!)
      } catch (err) {
        const message = (err as Error).message
        await this.store.cycles.update(id, { status: 'error', status_reason: message, updated_at: this.clock.now().toISOString() })
        await this.#incident(cycle, steps[0]!.key, 'The webhook subscription failed', message)
        throw err
      }
    }
    return this.get(actor.partnerId, accountId, id)
  }

  async deactivate(actor: Principal, accountId: string, id: string, input: { finishQueued?: boolean }): Promise<CycleView & { droppedTransactions: number }> {
    await this.load(actor.partnerId, accountId, id)
    await this.pause(id, null)
    const dropped = input.finishQueued ? 0 : await this.scheduler.dropQueued(id)
    return { ...(await this.get(actor.partnerId, accountId, id)), droppedTransactions: dropped }
  }

  /** Pauses a cycle: by the partner, or by the system with a reason (status `error` by default). */
  async pause(cycleId: string, reason: string | null, status: 'paused' | 'error' = reason ? 'error' : 'paused'): Promise<void> {
    await this.scheduler.unschedule(cycleId)
    await this.store.cycles.update(cycleId, { status, status_reason: reason, updated_at: this.clock.now().toISOString() })
    await this.#unsubscribe(cycleId, true)
  }

  /** A webhook cycle's subscription is deleted (deleteMethod); a failure is an incident when the cycle stays. */
  async #unsubscribe(cycleId: string, keepsCycle: boolean): Promise<void> {
    if (!this.webhooks) return
    const cycle = await this.store.cycles.getById(cycleId)
    const trigger = cycle && (await this.store.cycles.steps(cycleId))[0]
    if (!cycle || !trigger) return
    const r = await this.webhooks.unsubscribe(cycle, trigger)
    if (r && !r.ok && keepsCycle) await this.#incident(cycle, trigger.key, 'The webhook unsubscription failed', r.message)
  }

  async #incident(cycle: Cycle, stepKey: string, message: string, detail: string): Promise<void> {
    await this.store.db.insertInto('incidents').values({ id: newId('inc'), partner_id: cycle.partnerId, cycle_id: cycle.id, transaction_id: null, step_key: stepKey, level: 'error', message, detail, at: this.clock.now().toISOString() }).execute()
  }

  async runNow(actor: Principal, accountId: string, id: string): Promise<void> {
    const cycle = await this.load(actor.partnerId, accountId, id)
    const steps = await this.store.cycles.steps(id)
    if (await this.isWebhookTriggered(steps)) throw fail('CONFLICT', 'a webhook-triggered cycle runs when a delivery arrives')
    const prerequisites = await this.prerequisites(cycle, steps)
    if (prerequisites.length) throw fail('PREREQUISITES_UNMET', `the cycle cannot run: ${prerequisites.map((p) => p.message).join('; ')}`, prerequisites)
    await this.scheduler.runNow(id)
  }

  async delete(actor: Principal, accountId: string, id: string): Promise<void> {
    await this.load(actor.partnerId, accountId, id)
    await this.scheduler.unschedule(id)
    await this.#unsubscribe(id, false)
    await this.store.cycles.delete(actor.partnerId, id)
  }

  private async isWebhookTriggered(steps: CycleStep[]): Promise<boolean> {
    const trigger = steps[0]
    if (!trigger?.connector?.releaseId) return false
    const release = await this.store.releases.get(trigger.connector.connectorId, trigger.connector.releaseId)
    const method = release && findMethod({ releaseId: release.id, connectorId: release.connectorId, definition: release.definition }, trigger.connector.methodId)
    return method?.type === 'webhook'
  }
}

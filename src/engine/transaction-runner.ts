// Runs one transaction: the steps after the trigger, in order, following decisions and routes,
// waiting out delays and retries as durable jobs (never sleeps). After every step the progress is
// saved with its log in one database transaction, so a crashed worker resumes at the step it was
// on (that step may run again: at-least-once, like every queue job).
import { describeError } from '../runtime/errors.js'
import { nextStepIndex, findMethod, requestFields, stepParameters } from '../domain/template-rules.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Cycle, CycleStep } from '../store/repositories/cycles.js'
import type { Store } from '../store/store.js'
import type { TransactionsTable } from '../store/tables.js'
import { decide } from './decision.js'
import type { JobQueue } from './queue/job-queue.js'
import { resolveAll, resolveMapping, type MappingContext } from './mapping.js'
import type { MethodInvoker } from './method-invoker.js'
import type { EngineMetrics } from './metrics.js'
import { DEFAULT_RETRY_WAITS_MS, retryWaitMs } from './retry-schedule.js'
import type { EngineTasks } from './tasks.js'
import type { ErrorAction } from './templates/template-schema.js'

export interface TransactionState {
  outputs: Record<string, Record<string, unknown> | undefined>
}

export interface EngineDeps {
  store: Store
  clock: Clock
  invoker: MethodInvoker
  queue: JobQueue<EngineTasks>
  metrics: EngineMetrics
  /** inline `=` scripts (sandboxed) */
  evaluate: MappingContext['evaluate']
  /** pauses a cycle with status `error` and the reason (unschedules it) */
  pauseCycle(cycleId: string, reason: string): Promise<void>
  retryWaitsMs?: readonly number[]
  /** largest step log kept, in bytes (default 16 KB) */
  logLimitBytes?: number
}

const DELAY_UNIT_MS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const

export function capLog(value: unknown, limit: number): string | null {
  if (value === undefined) return null
  const text = JSON.stringify(value)
  return text.length <= limit ? text : JSON.stringify({ truncated: true, bytes: text.length, excerpt: text.slice(0, limit) })
}

export class TransactionRunner {
  constructor(private readonly deps: EngineDeps) {}

  async run(transactionId: string, signal?: AbortSignal): Promise<void> {
    const { store } = this.deps
    const tx = await store.db.selectFrom('transactions').selectAll().where('id', '=', transactionId).executeTakeFirst()
    if (!tx || tx.status === 'succeeded' || tx.status === 'failed' || tx.status === 'stopped') return
    const cycle = await store.cycles.getById(tx.cycle_id)
    if (!cycle) return
    if (cycle.status === 'error') return this.finish(tx.id, 'stopped', `the cycle was stopped: ${cycle.statusReason ?? 'error'}`)

    const steps = await store.cycles.steps(cycle.id)
    const state: TransactionState = JSON.parse(tx.state)
    const account = await store.accounts.get(cycle.partnerId, cycle.accountId)
    const builtIns = {
      AccountId: cycle.accountId,
      ExternalAccountId: account?.externalId ?? '',
      CycleId: cycle.id,
      TransactionId: tx.id,
    }
    const now = () => this.deps.clock.now().toISOString()
    if (tx.status !== 'running') {
      await store.db.updateTable('transactions').set({ status: 'running', started_at: tx.started_at ?? now() }).where('id', '=', tx.id).execute()
      if (!tx.started_at) this.deps.metrics.transactions.inc({ event: 'started' })
    }

    let index: number | 'end' = tx.next_step
    let attempts = tx.step_attempts
    while (index !== 'end' && index < steps.length) {
      if (signal?.aborted) throw new Error('worker stopping')
      const at: number = index
      const step = steps[at]
      const started = Date.now()
      const startedAt = now()
      const ctx: MappingContext = { outputs: state.outputs, builtIns: { ...builtIns, LastSuccessfulRunDate: step.lastSuccessfulRunAt ?? '1970-01-01T00:00:00Z' }, evaluate: this.deps.evaluate }

      if (step.type === 'trigger') {
        index = nextStepIndex(steps, index, undefined)
        continue
      }
      if (step.type === 'delay' && step.delay) {
        const next = nextStepIndex(steps, index, undefined)
        const delayMs = step.delay.amount * DELAY_UNIT_MS[step.delay.unit]
        await this.saveStep(tx, cycle, step, { status: 'succeeded', attempt: 1, log: { delayMs }, startedAt, durationMs: 0 }, { next, state, attempts: 0, status: 'waiting' }, delayMs)
        return
      }
      if (step.type === 'decision' && step.decision) {
        let outcome: boolean
        try {
          const left = await resolveMapping(step.decision.left, ctx, {})
          const right = step.decision.right ? await resolveMapping(step.decision.right, ctx, {}) : undefined
          outcome = decide(left, step.decision.operator, right)
          index = nextStepIndex(steps, index, outcome)
          await this.saveStep(tx, cycle, step, { status: 'succeeded', attempt: 1, log: { left, operator: step.decision.operator, right, outcome }, startedAt, durationMs: Date.now() - started }, { next: index, state, attempts: 0 })
        } catch (err) {
          const handled = await this.onStepError(tx, cycle, steps, step, err, attempts, startedAt, started, state, at)
          if (handled.stop) return
          index = handled.next
        }
        attempts = 0
        continue
      }

      // A connector action.
      try {
        const output = await this.runAction(cycle, step, ctx, signal)
        state.outputs[step.key] = output.record
        this.deps.metrics.stepLatency.observe({ type: 'action', outcome: 'succeeded' }, (Date.now() - started) / 1000)
        index = nextStepIndex(steps, index, undefined)
        await this.saveStep(tx, cycle, step, { status: 'succeeded', attempt: attempts + 1, log: output.log, startedAt, durationMs: Date.now() - started }, { next: index, state, attempts: 0 })
      } catch (err) {
        this.deps.metrics.stepLatency.observe({ type: 'action', outcome: 'failed' }, (Date.now() - started) / 1000)
        const handled = await this.onStepError(tx, cycle, steps, step, err, attempts, startedAt, started, state, at)
        if (handled.stop) return
        index = handled.next
      }
      attempts = 0
    }
    await this.finish(tx.id, 'succeeded', null)
  }

  private async runAction(cycle: Cycle, step: CycleStep, ctx: MappingContext, signal?: AbortSignal) {
    const { store, invoker, metrics } = this.deps
    const connector = step.connector!
    if (!step.accountConnectorId) throw new Error(`connector ${connector.connectorId} is not installed in the account`)
    const release = await store.releases.get(connector.connectorId, connector.releaseId!)
    const method = release && findMethod({ releaseId: release.id, connectorId: release.connectorId, definition: release.definition }, connector.methodId)
    if (!release || !method) throw new Error(`method ${connector.methodId} of release ${connector.releaseId} is not available`)
    const fieldNames = requestFields(method).map((f) => f.field)
    const paramNames = stepParameters(release.definition, method).map((p) => p.name)
    const fields = await resolveAll(step.fields, step.userValues, fieldNames, ctx)
    const rawParams = await resolveAll(step.parameters, step.userValues, paramNames, ctx)
    const parameters = Object.fromEntries(Object.entries(rawParams).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))
    const records: Record<string, unknown>[] = []
    const requests: unknown[] = []
    try {
      for await (const page of invoker.pages({ partnerId: cycle.partnerId, accountId: cycle.accountId, accountConnectorId: step.accountConnectorId, connectorId: connector.connectorId, releaseId: release.id, methodId: method.id, parameters, fields, builtIns: ctx.builtIns, maxPages: 100, signal })) {
        metrics.httpCalls.inc({ status: String(page.response.status) })
        records.push(...(page.records as Record<string, unknown>[]))
        requests.push({ request: page.request, response: page.response, durationMs: page.durationMs })
      }
    } catch (err) {
      const status = (err as { status?: number }).status
      metrics.httpCalls.inc({ status: status ? String(status) : ((err as { kind?: string }).kind ?? 'error') })
      throw Object.assign(err as object, { stepLog: { fields, parameters, requests } })
    }
    return { record: records.length === 1 ? records[0] : { ...(records[0] ?? {}), _records: records }, log: { fields, parameters, requests, records: records.length } }
  }

  /** Applies the step's error action; returns where to go on, or stop (waiting, failed, stopped). */
  private async onStepError(tx: TransactionsTable, cycle: Cycle, steps: CycleStep[], step: CycleStep, err: unknown, attempts: number, startedAt: string, started: number, state: TransactionState, index: number): Promise<{ stop: true } | { stop: false; next: number | 'end' }> {
    const info = describeError(err)
    const log = (err as { stepLog?: unknown }).stepLog
    const action: ErrorAction = step.onError ?? (cycle.settings.onError as ErrorAction | undefined) ?? { action: 'stopTransaction' }
    const durationMs = Date.now() - started
    const failedRun = { status: 'failed' as const, attempt: attempts + 1, log, error: info.message, startedAt, durationMs }
    switch (action.action) {
      case 'ignore': {
        state.outputs[step.key] = {}
        const next = nextStepIndex(steps, index, undefined)
        await this.saveStep(tx, cycle, step, { ...failedRun, status: 'ignored' }, { next, state, attempts: 0 })
        return { stop: false, next }
      }
      case 'retry': {
        const retries = action.retries ?? 3
        if (attempts < retries) {
          const waitMs = retryWaitMs(attempts + 1, this.deps.retryWaitsMs ?? DEFAULT_RETRY_WAITS_MS)
          await this.saveStep(tx, cycle, step, failedRun, { next: index, state, attempts: attempts + 1, status: 'waiting' }, waitMs)
          return { stop: true }
        }
        await this.saveStep(tx, cycle, step, failedRun, { next: index, state, attempts: attempts + 1 })
        await this.incident(cycle, tx.id, step.key, 'Out of retries', info.message)
        await this.finish(tx.id, 'failed', `step "${step.key}" failed after ${retries} retries: ${info.message}`)
        return { stop: true }
      }
      case 'stopCycle': {
        await this.saveStep(tx, cycle, step, failedRun, { next: index, state, attempts: 0 })
        const reason = `step "${step.key}" failed: ${info.message}`
        await this.incident(cycle, tx.id, step.key, 'The cycle was stopped by a step error', info.message)
        await this.finish(tx.id, 'failed', reason)
        await this.deps.pauseCycle(cycle.id, reason)
        return { stop: true }
      }
      default: {
        await this.saveStep(tx, cycle, step, failedRun, { next: index, state, attempts: 0 })
        await this.incident(cycle, tx.id, step.key, 'Failed to call the method', info.message)
        await this.finish(tx.id, 'failed', `step "${step.key}" failed: ${info.message}`)
        return { stop: true }
      }
    }
  }

  private async saveStep(
    tx: TransactionsTable,
    cycle: Cycle,
    step: CycleStep,
    run: { status: 'succeeded' | 'failed' | 'ignored'; attempt: number; log?: unknown; error?: string; startedAt: string; durationMs: number },
    progress: { next: number | 'end'; state: TransactionState; attempts: number; status?: 'waiting' },
    resumeInMs?: number,
  ): Promise<void> {
    const { store, queue } = this.deps
    const keepLogs = cycle.settings.logStepRequests !== false
    await store.db.transaction().execute(async (db) => {
      await db
        .insertInto('step_runs')
        .values({ id: newId('srn'), partner_id: cycle.partnerId, cycle_id: cycle.id, transaction_id: tx.id, step_key: step.key, status: run.status, attempt: run.attempt, log: keepLogs ? capLog(run.log, this.deps.logLimitBytes ?? 16 * 1024) : null, error: run.error ?? null, started_at: run.startedAt, duration_ms: run.durationMs })
        .execute()
      await db
        .updateTable('transactions')
        .set({ next_step: progress.next === 'end' ? 1_000_000 : progress.next, state: JSON.stringify(progress.state), step_attempts: progress.attempts, ...(progress.status ? { status: progress.status } : {}) })
        .where('id', '=', tx.id)
        .execute()
      if (resumeInMs !== undefined) await queue.enqueue('transaction.run', { transactionId: tx.id }, { tx: db, delayMs: resumeInMs, jobKey: `tx:${tx.id}`, maxAttempts: 5 })
    })
  }

  private async incident(cycle: Cycle, transactionId: string | null, stepKey: string | null, message: string, detail: string): Promise<void> {
    await this.deps.store.db.insertInto('incidents').values({ id: newId('inc'), partner_id: cycle.partnerId, cycle_id: cycle.id, transaction_id: transactionId, step_key: stepKey, level: 'error', message, detail, at: this.deps.clock.now().toISOString() }).execute()
  }

  private async finish(id: string, status: 'succeeded' | 'failed' | 'stopped', error: string | null): Promise<void> {
    await this.deps.store.db.updateTable('transactions').set({ status, error, finished_at: this.deps.clock.now().toISOString() }).where('id', '=', id).execute()
    this.deps.metrics.transactions.inc({ event: status })
  }
}

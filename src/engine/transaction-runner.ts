// Runs one transaction: the steps after the trigger, in order, following decisions and routes,
// waiting out delays and retries as durable jobs (never sleeps). After every connector step the
// progress is saved with its log in one database transaction, so a crashed worker resumes at the
// step it was on (that step may run again: at-least-once, like every queue job).
//
// The hot path (measured by `npm run bench -- engine`):
// - One read per run: the transaction joined with its cycle's status. The cycle's definition
//   (steps, account, pinned releases and their methods) comes from a small per-cycle cache that
//   is re-read after `contextTtlMs` (default 1 s): a change to a cycle's steps reaches running
//   transactions within that time; its status (paused, error) is always read fresh.
// - Steps without side effects (decisions) are not saved on their own: their step runs are
//   written with the next connector step's progress, or with the end of the transaction (on a
//   crash they simply run again). The last step's progress and the transaction's end are one
//   write.
// - Writes go through a group commit: the writes that concurrent runs make while one database
//   transaction is committing are committed together in the next one (each run still waits for
//   its own write). On SQLite, where each commit costs more than its statements, this is most of
//   the difference.
import type { Insertable, Kysely } from 'kysely'
import { Statements } from '../store/statements.js'
import type { ConnectorDefinition, Method } from '../definition/schema.js'
import { describeError } from '../runtime/errors.js'
import { nextStepIndex, findMethod, requestFields, stepParameters } from '../domain/template-rules.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Cycle, CycleStep } from '../store/repositories/cycles.js'
import type { Store } from '../store/store.js'
import type { DB, TransactionsTable } from '../store/tables.js'
import { decide } from './decision.js'
import type { JobQueue } from './queue/job-queue.js'
import { resolveAll, resolveMapping, type MappingContext } from './mapping.js'
import type { MethodInvoker } from './method-invoker.js'
import type { EngineMetrics } from './metrics.js'
import { DEFAULT_RETRY_WAITS_MS, retryWaitMs } from './retry-schedule.js'
import type { EngineTasks } from './tasks.js'
import type { ErrorAction } from './templates/template-schema.js'
import type { ScriptOutcome } from '../runtime/action-scripts.js'

export interface TransactionState {
  outputs: Record<string, Record<string, unknown> | undefined>
  /**
   * The cycle's steps as this transaction started with them, kept once it waits (a delay or a
   * retry): a transaction finishes on the releases, methods and mappings it started with, even
   * when the cycle is upgraded (or re-pinned by a minor push) while it waits.
   */
  pinned?: CycleStep[]
}

export interface EngineDeps {
  store: Store
  clock: Clock
  invoker: MethodInvoker
  queue: JobQueue<EngineTasks>
  metrics: EngineMetrics
  /**
   * inline `=` scripts (sandboxed); `scope` is the trust boundary (the sandbox's isolation key:
   * scripts of different accounts never share a context)
   */
  evaluate(expression: string, data: Record<string, unknown>, scope: { partnerId: string; accountId: string }): Promise<unknown>
  /** pauses a cycle with status `error` and the reason (unschedules it) */
  pauseCycle(cycleId: string, reason: string): Promise<void>
  retryWaitsMs?: readonly number[]
  /** largest step log kept, in bytes (default 16 KB) */
  logLimitBytes?: number
  /** how long a cycle's steps, account and releases are reused between runs (default 1 s; 0: never) */
  contextTtlMs?: number
}

const DELAY_UNIT_MS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const
const FINISHED = new Set(['succeeded', 'failed', 'stopped'])
/** next_step of a transaction past its last step */
const END = 1_000_000

/** Two versions of a step that run alike (its LastSuccessfulRunDate aside). */
function sameStep(a: CycleStep, b: CycleStep): boolean {
  const { lastSuccessfulRunAt: _a, ...x } = a
  const { lastSuccessfulRunAt: _b, ...y } = b
  return JSON.stringify(x) === JSON.stringify(y)
}

export function capLog(value: unknown, limit: number): string | null {
  if (value === undefined) return null
  const text = JSON.stringify(value)
  return text.length <= limit ? text : JSON.stringify({ truncated: true, bytes: text.length, excerpt: text.slice(0, limit) })
}

/** A connector step's pinned method, resolved once per cycle context. */
interface ActionPlan {
  releaseId: string
  method: Method
  fieldNames: string[]
  paramNames: string[]
}

/** What every run of a cycle's transactions needs, read once per `contextTtlMs`. */
interface CycleContext {
  cycle: Cycle
  steps: CycleStep[]
  externalAccountId: string
  /** by step key; an Error when the step's release or method is not available */
  plans: Map<string, ActionPlan | Error>
}

type StepRun = { status: 'succeeded' | 'failed' | 'ignored'; attempt: number; log?: unknown; error?: string; startedAt: string; durationMs: number }

type TxRow = TransactionsTable & { cycle_status: Cycle['status']; cycle_status_reason: string | null }

/**
 * Group commit: writes queued while a database transaction runs are committed together in the
 * next one. A batch that fails is retried one write at a time, so one bad write fails only its
 * own caller.
 */
class GroupCommit {
  #queue: Array<{ work: (db: Kysely<DB>) => Promise<void>; resolve: () => void; reject: (err: unknown) => void }> = []
  #flushing = false

  constructor(
    private readonly db: Kysely<DB>,
    private readonly maxBatch = 64,
  ) {}

  run(work: (db: Kysely<DB>) => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ work, resolve, reject })
      if (!this.#flushing) {
        this.#flushing = true
        setImmediate(() => void this.#flush())
      }
    })
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.maxBatch)
        try {
          await this.db.transaction().execute(async (trx) => {
            for (const b of batch) await b.work(trx)
          })
          for (const b of batch) b.resolve()
        } catch (err) {
          if (batch.length === 1) {
            batch[0].reject(err)
            continue
          }
          for (const b of batch) await this.db.transaction().execute((trx) => b.work(trx)).then(b.resolve, b.reject)
        }
      }
    } finally {
      this.#flushing = false
    }
  }
}

const STEP_RUN_COLUMNS = ['id', 'partner_id', 'cycle_id', 'transaction_id', 'step_key', 'status', 'attempt', 'log', 'error', 'started_at', 'duration_ms'] as const

export class TransactionRunner {
  readonly #contexts = new Map<string, { at: number; context: Promise<CycleContext | undefined> }>()
  readonly #statements = new Statements()
  readonly #writes: GroupCommit
  readonly #ttlMs: number

  constructor(private readonly deps: EngineDeps) {
    this.#writes = new GroupCommit(deps.store.db)
    this.#ttlMs = deps.contextTtlMs ?? 1000
  }

  /** Forgets a cycle's cached definition (or every cycle's), e.g. after its steps changed. */
  invalidate(cycleId?: string): void {
    if (cycleId) this.#contexts.delete(cycleId)
    else this.#contexts.clear()
  }

  async run(transactionId: string, signal?: AbortSignal): Promise<void> {
    const { store } = this.deps
    const { rows } = await this.#statements.execute(store.db, 'load', [transactionId], (db, [id]) =>
      db
        .selectFrom('transactions as t')
        .innerJoin('cycles as c', 'c.id', 't.cycle_id')
        .selectAll('t')
        .select(['c.status as cycle_status', 'c.status_reason as cycle_status_reason'])
        .where('t.id', '=', id as string),
    )
    const tx = rows[0] as TxRow | undefined
    if (!tx || FINISHED.has(tx.status)) return
    if (tx.cycle_status === 'error') return this.finish(tx.id, 'stopped', `the cycle was stopped: ${tx.cycle_status_reason ?? 'error'}`)
    const current = await this.context(tx.cycle_id)
    if (!current) return
    const state: TransactionState = JSON.parse(tx.state)
    const context = state.pinned ? await this.pinnedContext(current, state.pinned) : current
    const { cycle, steps } = context
    const builtIns = {
      AccountId: cycle.accountId,
      ExternalAccountId: context.externalAccountId,
      CycleId: cycle.id,
      TransactionId: tx.id,
    }
    const scope = { partnerId: cycle.partnerId, accountId: cycle.accountId }
    const evaluate: MappingContext['evaluate'] = (expression, data) => this.deps.evaluate(expression, data, scope)
    const now = () => this.deps.clock.now().toISOString()
    // Marked running without waiting for it: the first step starts meanwhile, and every later
    // write of this run is queued behind the mark (the group commit keeps the order).
    let marked: Promise<void> | undefined
    if (tx.status !== 'running') {
      const startedAt = tx.started_at ?? now()
      marked = this.#writes.run(async (db) => {
        await this.#statements.execute(db, 'running', ['running', startedAt, tx.id], (d, [status, at, id]) =>
          d.updateTable('transactions').set({ status: status as 'running', started_at: at as string }).where('id', '=', id as string),
        )
      })
      marked.catch(() => {})
      if (!tx.started_at) this.deps.metrics.transactions.inc({ event: 'started' })
    }

    // Step runs not saved yet (decisions): written with the next save.
    const pending: Array<{ step: CycleStep; run: StepRun }> = []
    const save = async (step: CycleStep | undefined, run: StepRun | undefined, progress: Progress, resumeInMs?: number) => {
      if (step && run) pending.push({ step, run })
      const runs = pending.splice(0)
      if (resumeInMs !== undefined) progress.state.pinned ??= steps
      const saved = this.saveProgress(tx, cycle, runs, progress, resumeInMs)
      if (marked) await marked
      await saved
    }

    let index: number | 'end' = tx.next_step
    let attempts = tx.step_attempts
    while (index !== 'end' && index < steps.length) {
      if (signal?.aborted) throw new Error('worker stopping')
      const at: number = index
      const step = steps[at]
      const started = Date.now()
      const startedAt = now()
      const ctx: MappingContext = { outputs: state.outputs, builtIns: { ...builtIns, LastSuccessfulRunDate: step.lastSuccessfulRunAt ?? '1970-01-01T00:00:00Z' }, evaluate }

      if (step.type === 'trigger') {
        index = nextStepIndex(steps, index, undefined)
        continue
      }
      if (step.type === 'delay' && step.delay) {
        const next = nextStepIndex(steps, index, undefined)
        const delayMs = step.delay.amount * DELAY_UNIT_MS[step.delay.unit]
        await save(step, { status: 'succeeded', attempt: 1, log: { delayMs }, startedAt, durationMs: 0 }, { next, state, attempts: 0, status: 'waiting' }, delayMs)
        return
      }
      if (step.type === 'decision' && step.decision) {
        let outcome: boolean
        try {
          const left = await resolveMapping(step.decision.left, ctx, {})
          const right = step.decision.right ? await resolveMapping(step.decision.right, ctx, {}) : undefined
          outcome = decide(left, step.decision.operator, right)
          index = nextStepIndex(steps, index, outcome)
          pending.push({ step, run: { status: 'succeeded', attempt: 1, log: { left, operator: step.decision.operator, right, outcome }, startedAt, durationMs: Date.now() - started } })
        } catch (err) {
          const handled = await this.onStepError(tx, cycle, steps, step, err, attempts, startedAt, started, state, at, save)
          if (handled.stop) return
          index = handled.next
        }
        attempts = 0
        continue
      }

      // A connector action.
      try {
        const output = await this.runAction(context, step, ctx, signal)
        state.outputs[step.key] = output.record
        this.deps.metrics.stepLatency.observe({ type: 'action', outcome: 'succeeded' }, (Date.now() - started) / 1000)
        // A method whose scripts define action_condition routes the step true/false (like a decision).
        index = nextStepIndex(steps, index, output.script?.route)
        // after_action_paging's next_last_successful_run_date sets the step's LastSuccessfulRunDate.
        if (output.script?.nextLastSuccessfulRunDate) {
          await this.deps.store.cycles.setLastSuccessfulRun(step.id, output.script.nextLastSuccessfulRunDate)
          this.invalidate(cycle.id)
        }
        const run: StepRun = { status: 'succeeded', attempt: attempts + 1, log: output.log, startedAt, durationMs: Date.now() - started }
        if (index === 'end' || index >= steps.length) {
          // The last step: its progress and the end of the transaction in one write.
          await save(step, run, { next: 'end', state, attempts: 0, status: 'succeeded' })
          this.deps.metrics.transactions.inc({ event: 'succeeded' })
          return
        }
        await save(step, run, { next: index, state, attempts: 0 })
      } catch (err) {
        this.deps.metrics.stepLatency.observe({ type: 'action', outcome: 'failed' }, (Date.now() - started) / 1000)
        const handled = await this.onStepError(tx, cycle, steps, step, err, attempts, startedAt, started, state, at, save)
        if (handled.stop) return
        index = handled.next
      }
      attempts = 0
    }
    await save(undefined, undefined, { next: 'end', state, attempts: 0, status: 'succeeded' })
    this.deps.metrics.transactions.inc({ event: 'succeeded' })
  }

  /** The cycle's definition, cached for `contextTtlMs` (concurrent runs share one read). */
  private context(cycleId: string): Promise<CycleContext | undefined> {
    const now = Date.now()
    const hit = this.#contexts.get(cycleId)
    if (hit && now - hit.at < this.#ttlMs) return hit.context
    const context = this.loadContext(cycleId)
    if (this.#ttlMs > 0) {
      if (this.#contexts.size >= 1000) for (const [id, c] of this.#contexts) if (now - c.at >= this.#ttlMs) this.#contexts.delete(id)
      const entry = { at: now, context }
      this.#contexts.set(cycleId, entry)
      // A cycle that is gone, or a failed read, is not kept.
      const forget = () => void (this.#contexts.get(cycleId) === entry && this.#contexts.delete(cycleId))
      context.then((c) => c || forget(), forget)
    }
    return context
  }

  private async loadContext(cycleId: string): Promise<CycleContext | undefined> {
    const { store } = this.deps
    const cycle = await store.cycles.getById(cycleId)
    if (!cycle) return undefined
    const steps = await store.cycles.steps(cycle.id)
    const account = await store.accounts.get(cycle.partnerId, cycle.accountId)
    return { cycle, steps, externalAccountId: account?.externalId ?? '', plans: await this.plans(steps) }
  }

  /**
   * The context of a transaction that waited: its own steps when the cycle's changed meanwhile
   * (an upgrade), else the cycle's (shared, cached) context.
   */
  private async pinnedContext(current: CycleContext, pinned: CycleStep[]): Promise<CycleContext> {
    const same = pinned.length === current.steps.length && pinned.every((p, i) => sameStep(p, current.steps[i]))
    return same ? current : { ...current, steps: pinned, plans: await this.plans(pinned) }
  }

  /** Each connector step's pinned method, read from its (immutable) release. */
  private async plans(steps: CycleStep[]): Promise<Map<string, ActionPlan | Error>> {
    const { store } = this.deps
    const plans = new Map<string, ActionPlan | Error>()
    const releases = new Map<string, { id: string; definition: ConnectorDefinition } | undefined>()
    for (const step of steps) {
      if (step.type !== 'action' || !step.connector) continue
      const { connectorId, releaseId, methodId } = step.connector
      const rkey = `${connectorId}/${releaseId}`
      if (!releases.has(rkey)) {
        const r = releaseId ? await store.releases.get(connectorId, releaseId) : undefined
        releases.set(rkey, r && { id: r.id, definition: r.definition })
      }
      const release = releases.get(rkey)
      const method = release && findMethod({ releaseId: release.id, connectorId, definition: release.definition }, methodId)
      plans.set(
        step.key,
        !release || !method
          ? new Error(`method ${methodId} of release ${releaseId} is not available`)
          : { releaseId: release.id, method, fieldNames: requestFields(method).map((f) => f.field), paramNames: stepParameters(release.definition, method).map((p) => p.name) },
      )
    }
    return plans
  }

  private async runAction(context: CycleContext, step: CycleStep, ctx: MappingContext, signal?: AbortSignal) {
    const { invoker, metrics } = this.deps
    const { cycle } = context
    const connector = step.connector!
    if (!step.accountConnectorId) throw new Error(`connector ${connector.connectorId} is not installed in the account`)
    const plan = context.plans.get(step.key) ?? new Error(`method ${connector.methodId} of release ${connector.releaseId} is not available`)
    if (plan instanceof Error) throw plan
    const fields = await resolveAll(step.fields, step.userValues, plan.fieldNames, ctx)
    const rawParams = await resolveAll(step.parameters, step.userValues, plan.paramNames, ctx)
    const parameters = Object.fromEntries(Object.entries(rawParams).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]))
    const records: Record<string, unknown>[] = []
    const requests: unknown[] = []
    let script: ScriptOutcome | undefined
    try {
      for await (const page of invoker.pages({
        partnerId: cycle.partnerId,
        accountId: cycle.accountId,
        accountConnectorId: step.accountConnectorId,
        connectorId: connector.connectorId,
        releaseId: plan.releaseId,
        methodId: plan.method.id,
        parameters,
        fields,
        builtIns: ctx.builtIns,
        maxPages: 100,
        signal,
        step: { id: step.id, script: step.script ?? null },
        onScriptOutcome: (o) => (script = o),
      })) {
        metrics.httpCalls.inc({ status: String(page.response.status) })
        for (const r of page.records) records.push(r as Record<string, unknown>)
        requests.push({ request: page.request, response: page.response, durationMs: page.durationMs })
      }
    } catch (err) {
      const status = (err as { status?: number }).status
      metrics.httpCalls.inc({ status: status ? String(status) : ((err as { kind?: string }).kind ?? 'error') })
      throw Object.assign(err as object, { stepLog: { fields, parameters, requests } })
    }
    const scriptLog = script && (script.route !== undefined || script.warnings.length || script.nextLastSuccessfulRunDate) ? { script: { route: script.route, warnings: script.warnings, nextLastSuccessfulRunDate: script.nextLastSuccessfulRunDate } } : {}
    return {
      record: records.length === 1 ? records[0] : { ...(records[0] ?? {}), _records: records },
      log: { fields, parameters, requests, records: records.length, ...scriptLog },
      script: script as ScriptOutcome | undefined,
    }
  }

  /** Applies the step's error action; returns where to go on, or stop (waiting, failed, stopped). */
  private async onStepError(
    tx: TransactionsTable,
    cycle: Cycle,
    steps: CycleStep[],
    step: CycleStep,
    err: unknown,
    attempts: number,
    startedAt: string,
    started: number,
    state: TransactionState,
    index: number,
    save: (step: CycleStep, run: StepRun, progress: Progress, resumeInMs?: number) => Promise<void>,
  ): Promise<{ stop: true } | { stop: false; next: number | 'end' }> {
    const info = describeError(err)
    const log = (err as { stepLog?: unknown }).stepLog
    const action: ErrorAction = step.onError ?? (cycle.settings.onError as ErrorAction | undefined) ?? { action: 'stopTransaction' }
    const durationMs = Date.now() - started
    const failedRun: StepRun = { status: 'failed', attempt: attempts + 1, log, error: info.message, startedAt, durationMs }
    switch (action.action) {
      case 'ignore': {
        state.outputs[step.key] = {}
        const next = nextStepIndex(steps, index, undefined)
        await save(step, { ...failedRun, status: 'ignored' }, { next, state, attempts: 0 })
        return { stop: false, next }
      }
      case 'retry': {
        const retries = action.retries ?? 3
        if (attempts < retries) {
          const waitMs = retryWaitMs(attempts + 1, this.deps.retryWaitsMs ?? DEFAULT_RETRY_WAITS_MS)
          await save(step, failedRun, { next: index, state, attempts: attempts + 1, status: 'waiting' }, waitMs)
          return { stop: true }
        }
        await save(step, failedRun, { next: index, state, attempts: attempts + 1 })
        await this.incident(cycle, tx.id, step.key, 'Out of retries', info.message)
        await this.finish(tx.id, 'failed', `step "${step.key}" failed after ${retries} retries: ${info.message}`)
        return { stop: true }
      }
      case 'stopCycle': {
        await save(step, failedRun, { next: index, state, attempts: 0 })
        const reason = `step "${step.key}" failed: ${info.message}`
        await this.incident(cycle, tx.id, step.key, 'The cycle was stopped by a step error', info.message)
        await this.finish(tx.id, 'failed', reason)
        await this.deps.pauseCycle(cycle.id, reason)
        this.invalidate(cycle.id)
        return { stop: true }
      }
      default: {
        await save(step, failedRun, { next: index, state, attempts: 0 })
        await this.incident(cycle, tx.id, step.key, 'Failed to call the method', info.message)
        await this.finish(tx.id, 'failed', `step "${step.key}" failed: ${info.message}`)
        return { stop: true }
      }
    }
  }

  /**
   * Saves step runs and the transaction's progress in one database transaction (group-committed
   * with other runs' writes): where to resume, the outputs so far, and, for a delay or a retry,
   * the job that resumes it. `status: 'succeeded'` also ends the transaction.
   */
  private saveProgress(tx: TransactionsTable, cycle: Cycle, runs: Array<{ step: CycleStep; run: StepRun }>, progress: Progress, resumeInMs?: number): Promise<void> {
    const { queue } = this.deps
    const keepLogs = cycle.settings.logStepRequests !== false
    const limit = this.deps.logLimitBytes ?? 16 * 1024
    const values: unknown[] = []
    for (const { step, run } of runs) {
      values.push(newId('srn'), cycle.partnerId, cycle.id, tx.id, step.key, run.status, run.attempt, keepLogs ? capLog(run.log, limit) : null, run.error ?? null, run.startedAt, run.durationMs)
    }
    const ended = progress.status === 'succeeded'
    const set: Record<string, unknown> = {
      next_step: progress.next === 'end' ? END : progress.next,
      state: JSON.stringify(progress.state),
      step_attempts: progress.attempts,
      ...(progress.status ? { status: progress.status } : {}),
      ...(ended ? { error: null, finished_at: this.deps.clock.now().toISOString() } : {}),
    }
    const columns = Object.keys(set)
    const insertRuns = (db: Kysely<DB>, v: unknown[]) => {
      const rows: Array<Insertable<DB['step_runs']>> = []
      for (let r = 0; r < v.length; r += STEP_RUN_COLUMNS.length) rows.push(Object.fromEntries(STEP_RUN_COLUMNS.map((c, i) => [c, v[r + i]])) as never)
      return db.insertInto('step_runs').values(rows)
    }
    return this.#writes.run(async (db) => {
      if (runs.length) await this.#statements.execute(db, `step_runs:${runs.length}`, values, insertRuns)
      await this.#statements.execute(db, `progress:${columns.join(',')}`, [...columns.map((c) => set[c]), tx.id], (d, v) =>
        d
          .updateTable('transactions')
          .set(Object.fromEntries(columns.map((c, i) => [c, v[i]])) as never)
          .where('id', '=', v[columns.length] as string),
      )
      if (resumeInMs !== undefined) await queue.enqueue('transaction.run', { transactionId: tx.id }, { tx: db, delayMs: resumeInMs, jobKey: `tx:${tx.id}`, maxAttempts: 5 })
    })
  }

  private async incident(cycle: Cycle, transactionId: string | null, stepKey: string | null, message: string, detail: string): Promise<void> {
    await this.deps.store.db.insertInto('incidents').values({ id: newId('inc'), partner_id: cycle.partnerId, cycle_id: cycle.id, transaction_id: transactionId, step_key: stepKey, level: 'error', message, detail, at: this.deps.clock.now().toISOString() }).execute()
  }

  private async finish(id: string, status: 'succeeded' | 'failed' | 'stopped', error: string | null): Promise<void> {
    const at = this.deps.clock.now().toISOString()
    await this.#writes.run(async (db) => {
      await db.updateTable('transactions').set({ status, error, finished_at: at }).where('id', '=', id).execute()
    })
    this.deps.metrics.transactions.inc({ event: status })
  }
}

interface Progress {
  next: number | 'end'
  state: TransactionState
  attempts: number
  status?: 'waiting' | 'succeeded'
}

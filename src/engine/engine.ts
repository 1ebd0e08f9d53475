// The run engine: the queue's handlers for trigger firings and transactions, and the scheduler the
// cycle service uses. Embedded (SQLite): runs inside `plexus serve`. Scale-out (PostgreSQL):
// `plexus worker` processes run the same handlers on graphile-worker.
import type { CycleScheduler } from '../services/cycles.js'
import type { Cycle } from '../store/repositories/cycles.js'
import type { JobHandlers, JobQueue } from './queue/job-queue.js'
import type { EngineTasks } from './tasks.js'
import { TransactionRunner, type EngineDeps } from './transaction-runner.js'
import { TriggerPoller } from './trigger-poller.js'

/** Renews one webhook subscription; `failed` (with the reason) when it could not be renewed. */
export type WebhookRenewal = (payload: EngineTasks['webhook.renew']) => Promise<{ failed: string; cycleId: string } | undefined>

export class Engine implements CycleScheduler {
  readonly runner: TransactionRunner
  readonly poller: TriggerPoller
  #webhookRenewal: WebhookRenewal | undefined

  constructor(private readonly deps: EngineDeps) {
    this.runner = new TransactionRunner(deps)
    this.poller = new TriggerPoller(deps)
  }

  /** Wired by createServices: the webhook service renews subscriptions (it owns the endpoints). */
  setWebhookRenewal(renew: WebhookRenewal): void {
    this.#webhookRenewal = renew
  }

  get queue(): JobQueue<EngineTasks> {
    return this.deps.queue
  }

  handlers(): JobHandlers<EngineTasks> {
    return {
      'cycle.poll': async ({ payload, signal }) => {
        await this.poller.poll(payload.cycleId, { manual: payload.manual, signal })
      },
      'transaction.run': async ({ payload, signal }) => {
        await this.runner.run(payload.transactionId, signal)
      },
      'maintenance.retention': async () => {
        await this.deleteOldLogs()
      },
      'webhook.renew': async ({ payload }) => {
        if (!this.#webhookRenewal) throw new Error('no webhook renewal is wired')
        const r = await this.#webhookRenewal(payload)
        // Not renewed: the cycle is not reported active (error, with the reason; an incident was recorded).
        if (r) await this.deps.pauseCycle(r.cycleId, r.failed)
      },
    }
  }

  /** Starts this process's worker: every engine job, and the daily log retention sweep. */
  async start(opts: { concurrency?: number } = {}): Promise<void> {
    await this.deps.queue.schedule('maintenance:retention', { task: 'maintenance.retention', payload: {}, everyMs: 3_600_000 })
    await this.deps.queue.start({ concurrency: opts.concurrency ?? 4, handlers: this.handlers() })
  }

  async schedule(cycle: Cycle): Promise<void> {
    // A cycle is (re)activated after its steps changed: this process's runs read them afresh
    // (other processes within the runner's contextTtlMs).
    this.runner.invalidate(cycle.id)
    const everyMs = (cycle.intervalMinutes ?? 0) * 60_000
    const startAt = cycle.startAt ? new Date(cycle.startAt) : new Date(this.deps.clock.now().getTime())
    if (cycle.runOnce) {
      await this.deps.queue.enqueue('cycle.poll', { cycleId: cycle.id }, { runAt: startAt, jobKey: `poll:${cycle.id}` })
      return
    }
    await this.deps.queue.schedule(`cycle:${cycle.id}`, { task: 'cycle.poll', payload: { cycleId: cycle.id }, everyMs, startAt })
  }

  async unschedule(cycleId: string): Promise<void> {
    await this.deps.queue.unschedule(`cycle:${cycleId}`)
    await this.deps.queue.removeJob(`poll:${cycleId}`)
  }

  async runNow(cycleId: string): Promise<void> {
    this.runner.invalidate(cycleId)
    await this.deps.queue.enqueue('cycle.poll', { cycleId, manual: true }, { jobKey: `poll:${cycleId}`, jobKeyMode: 'dedupe' })
  }

  async dropQueued(cycleId: string): Promise<number> {
    const at = this.deps.clock.now().toISOString()
    const r = await this.deps.store.db
      .updateTable('transactions')
      .set({ status: 'stopped', error: 'dropped when the cycle was deactivated', finished_at: at })
      .where('cycle_id', '=', cycleId)
      .where('status', 'in', ['queued', 'waiting'])
      .executeTakeFirst()
    return Number(r.numUpdatedRows)
  }

  /** Step logs older than each cycle's retention (default 31 days) are deleted. */
  async deleteOldLogs(): Promise<number> {
    const { store, clock } = this.deps
    let deleted = 0
    const cycles = await store.db.selectFrom('cycles').select(['id', 'settings']).execute()
    for (const c of cycles) {
      const days = (JSON.parse(c.settings).retentionDays as number | undefined) ?? 31
      const before = new Date(clock.now().getTime() - days * 86_400_000).toISOString()
      const r = await store.db.deleteFrom('step_runs').where('cycle_id', '=', c.id).where('started_at', '<', before).executeTakeFirst()
      deleted += Number(r.numDeletedRows)
    }
    return deleted
  }
}

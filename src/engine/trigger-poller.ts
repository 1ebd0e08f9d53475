// A polling trigger firing (SPEC §5): read the trigger method's records (every inbound page) and
// make one transaction per record (collection splitting). Each page's transactions and their jobs
// are written in one database transaction, so none is lost and none is made without its job.
// Like every job, a firing is at-least-once: one cut off by a crash runs again from the first
// page once its lease expires, and the records of pages it had already committed get new
// transactions (LastSuccessfulRunDate only moves on when a firing completes).
import { describeError } from '../runtime/errors.js'
import { newId } from '../shared/ids.js'
import type { EngineDeps } from './transaction-runner.js'

export class TriggerPoller {
  constructor(private readonly deps: EngineDeps) {}

  async poll(cycleId: string, opts: { manual?: boolean; signal?: AbortSignal } = {}): Promise<{ transactions: number }> {
    const { store, clock, invoker, queue, metrics } = this.deps
    const cycle = await store.cycles.getById(cycleId)
    if (!cycle) return { transactions: 0 }
    if (cycle.status !== 'active' && !opts.manual) return { transactions: 0 }
    const steps = await store.cycles.steps(cycle.id)
    const trigger = steps[0]
    if (!trigger?.connector || !trigger.accountConnectorId) return { transactions: 0 }
    const account = await store.accounts.get(cycle.partnerId, cycle.accountId)
    const startedAt = clock.now().toISOString()
    const parameters = Object.fromEntries(
      Object.entries({ ...trigger.userValues, ...Object.fromEntries(Object.entries(trigger.parameters ?? {}).map(([k, m]) => [k, m.type === 'static' || m.type === 'lookup' ? m.value : undefined])) })
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => [k, String(v)]),
    )
    let made = 0
    // A trigger script's after_action_paging may set the next LastSuccessfulRunDate.
    let scriptNext: string | undefined
    try {
      const pages = invoker.pages({
        partnerId: cycle.partnerId,
        accountId: cycle.accountId,
        accountConnectorId: trigger.accountConnectorId,
        connectorId: trigger.connector.connectorId,
        releaseId: trigger.connector.releaseId!,
        methodId: trigger.connector.methodId,
        parameters,
        fields: {},
        builtIns: { LastSuccessfulRunDate: trigger.lastSuccessfulRunAt ?? '1970-01-01T00:00:00Z', AccountId: cycle.accountId, ExternalAccountId: account?.externalId ?? '', CycleId: cycle.id, TransactionId: '' },
        signal: opts.signal,
        step: { id: trigger.id, script: trigger.script ?? null },
        onScriptOutcome: (o) => (scriptNext = o.nextLastSuccessfulRunDate ?? undefined),
      })
      for await (const page of pages) {
        metrics.httpCalls.inc({ status: String(page.response.status) })
        if (!page.records.length) continue
        const at = clock.now().toISOString()
        const rows = page.records.map((record) => ({
          id: newId('txn'),
          partner_id: cycle.partnerId,
          cycle_id: cycle.id,
          status: 'queued' as const,
          trigger_data: JSON.stringify(record),
          state: JSON.stringify({ outputs: { [trigger.key]: record } }),
          next_step: 1,
          step_attempts: 0,
          error: null,
          created_at: at,
          started_at: null,
          finished_at: null,
        }))
        await store.db.transaction().execute(async (db) => {
          // In chunks: a page may hold up to 10 000 records, more than a statement's parameters.
          for (let i = 0; i < rows.length; i += 500) await db.insertInto('transactions').values(rows.slice(i, i + 500)).execute()
          // No job keys: the transactions are new, and key-less jobs are one multi-row insert
          // (graphile's add_jobs on PostgreSQL) instead of a keyed upsert per job.
          await queue.enqueueMany(rows.map((r) => ({ task: 'transaction.run' as const, payload: { transactionId: r.id }, maxAttempts: 5 })), { tx: db })
        })
        made += rows.length
      }
      await store.cycles.setLastSuccessfulRun(trigger.id, scriptNext ?? startedAt)
    } catch (err) {
      const info = describeError(err)
      const status = (err as { status?: number }).status
      metrics.httpCalls.inc({ status: status ? String(status) : ((err as { kind?: string }).kind ?? 'error') })
      await store.db.insertInto('incidents').values({ id: newId('inc'), partner_id: cycle.partnerId, cycle_id: cycle.id, transaction_id: null, step_key: trigger.key, level: 'error', message: 'The trigger failed', detail: info.message, at: clock.now().toISOString() }).execute()
      if (trigger.onError?.action === 'stopCycle') await this.deps.pauseCycle(cycle.id, `trigger "${trigger.key}" failed: ${info.message}`)
    }
    if (cycle.runOnce && !opts.manual) {
      await queue.unschedule(`cycle:${cycle.id}`)
      await store.cycles.update(cycle.id, { status: 'paused', updated_at: clock.now().toISOString() })
    }
    return { transactions: made }
  }
}

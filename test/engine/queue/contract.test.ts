// The JobQueue contract, run against every implementation: the built-in SQLite queue always,
// graphile-worker on PostgreSQL when PLEXUS_TEST_DATABASE_URL is set.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Type } from 'typebox'
import { type Job, type JobContext, defineTasks, retryDelayMs } from '../../../src/engine/queue/job-queue.js'
import { dialects } from '../../helpers/databases.js'
import { type QueueHarness, gate, queueHarness, waitFor } from './harness.js'

type Run = { task: string; payload: unknown; attempt: number; jobId: string; at: number; job: Job<unknown> }

/** Records every handler call. */
function recorder() {
  const runs: Run[] = []
  const handler =
    (task: string, body?: (ctx: JobContext<any>) => unknown) =>
    async (ctx: JobContext<any>) => {
      runs.push({ task, payload: ctx.payload, attempt: ctx.attempt, jobId: ctx.job.id, at: Date.now(), job: ctx.job })
      await body?.(ctx)
    }
  return { runs, handler, of: (task: string) => runs.filter((r) => r.task === task) }
}

for (const dialect of dialects()) {
  describe(`JobQueue contract [${dialect}]`, { timeout: 120_000 }, () => {
    let h: QueueHarness
    before(async () => {
      h = await queueHarness(dialect)
    })
    after(async () => {
      await h.cleanup()
    })

    test('enqueue runs the handler with payload, job, attempt and signal; a completed job is deleted', async () => {
      const q = h.create<{ 'c.echo': { text: string } }>()
      const rec = recorder()
      let signal: AbortSignal | undefined
      await q.start({ handlers: { 'c.echo': rec.handler('c.echo', (ctx) => (signal = ctx.signal)) } })
      const job = await q.enqueue('c.echo', { text: 'hi' })
      assert.equal(typeof job.id, 'string')
      assert.equal(job.task, 'c.echo')
      assert.equal(job.attempts, 0)
      assert.equal(job.maxAttempts, 25)
      assert.ok(['queued', 'running'].includes(job.state))
      await waitFor('the job to run', () => rec.runs.length === 1)
      assert.deepEqual(rec.runs[0].payload, { text: 'hi' })
      assert.equal(rec.runs[0].attempt, 1)
      assert.equal(rec.runs[0].jobId, job.id)
      assert.equal(rec.runs[0].job.task, 'c.echo')
      assert.ok(signal instanceof AbortSignal && !signal.aborted)
      await waitFor('the completed job to be deleted', async () => (await q.getJob(job.id)) === undefined)
      await q.close()
    })

    test('an enqueue wakes a started worker without waiting for a poll', async () => {
      const q = h.create<{ 'c.fast': null }>({ pollIntervalMs: 10_000 })
      const rec = recorder()
      await q.start({ handlers: { 'c.fast': rec.handler('c.fast') } })
      const t0 = Date.now()
      await q.enqueue('c.fast', null)
      // Well before the 10 s poll, even on a busy machine.
      await waitFor('the job to run', () => rec.runs.length === 1, 8000, 2)
      assert.ok(rec.runs[0].at - t0 < 5000, `picked up after ${rec.runs[0].at - t0} ms`)
      await q.close()
    })

    test('delayed jobs run at runAt / after delayMs, not before', async () => {
      const q = h.create<{ 'c.later': { n: number } }>()
      const rec = recorder()
      await q.start({ handlers: { 'c.later': rec.handler('c.later') } })
      const t0 = Date.now()
      const a = await q.enqueue('c.later', { n: 1 }, { delayMs: 600 })
      await q.enqueue('c.later', { n: 2 }, { runAt: new Date(t0 + 300) })
      assert.equal(a.state, 'delayed')
      assert.equal((await q.getJob(a.id))?.state, 'delayed')
      await waitFor('both delayed jobs to run', () => rec.runs.length === 2, 20_000)
      const byN = (n: number) => rec.runs.find((r) => (r.payload as { n: number }).n === n) as Run
      assert.ok(byN(2).at - t0 >= 290, `runAt job ran after ${byN(2).at - t0} ms`)
      assert.ok(byN(1).at - t0 >= 590, `delayMs job ran after ${byN(1).at - t0} ms`)
      assert.ok(byN(2).at <= byN(1).at)
      await q.close()
    })

    test('a failing job is retried with exponential backoff, then succeeds', async () => {
      const q = h.create<{ 'c.flaky': { id: string } }>()
      const rec = recorder()
      await q.start({
        handlers: {
          'c.flaky': rec.handler('c.flaky', ({ attempt }) => {
            if (attempt === 1) throw new Error('boom')
          }),
        },
      })
      const job = await q.enqueue('c.flaky', { id: 'x' })
      await waitFor('the first attempt', () => rec.runs.length === 1)
      const waiting = await waitFor('the failure to be recorded', async () => {
        const j = await q.getJob(job.id)
        return j && j.lastError ? j : undefined
      })
      assert.equal(waiting.state, 'delayed')
      assert.equal(waiting.attempts, 1)
      assert.equal(waiting.lastError, 'boom')
      await waitFor('the retry', () => rec.runs.length === 2, 30_000)
      assert.deepEqual(
        rec.runs.map((r) => r.attempt),
        [1, 2],
      )
      const gap = rec.runs[1].at - rec.runs[0].at
      assert.ok(gap >= retryDelayMs(1) - 150, `retried after ${gap} ms, expected about ${retryDelayMs(1)} ms`)
      await waitFor('the job to be deleted', async () => (await q.getJob(job.id)) === undefined)
      assert.equal(rec.runs.length, 2)
      await q.close()
    })

    test('after maxAttempts the job fails permanently and is kept for inspection', async () => {
      const q = h.create<{ 'c.doomed': { n: number } }>()
      const rec = recorder()
      await q.start({
        handlers: {
          'c.doomed': rec.handler('c.doomed', () => {
            throw new Error('always broken')
          }),
        },
      })
      const job = await q.enqueue('c.doomed', { n: 1 }, { maxAttempts: 1 })
      const failed = await waitFor('the permanent failure', async () => {
        const j = await q.getJob(job.id)
        return j?.state === 'failed' ? j : undefined
      })
      assert.equal(failed.attempts, 1)
      assert.equal(failed.maxAttempts, 1)
      assert.equal(failed.lastError, 'always broken')
      assert.deepEqual(failed.payload, { n: 1 })
      const listed = await q.listJobs({ state: 'failed', task: 'c.doomed' })
      assert.deepEqual(
        listed.map((j) => j.id),
        [job.id],
      )
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(rec.runs.length, 1, 'not run again')
      await q.close()
    })

    test('job keys: replace updates the pending job, dedupe keeps it, a completed key is free again', async () => {
      const q = h.create<{ 'c.keyed': { v: number } }>()
      const a = await q.enqueue('c.keyed', { v: 1 }, { jobKey: 'k1', delayMs: 60_000 })
      const b = await q.enqueue('c.keyed', { v: 2 }, { jobKey: 'k1' })
      assert.equal(b.id, a.id, 'replace keeps the job id')
      assert.deepEqual((await q.getJob(a.id))?.payload, { v: 2 })
      assert.equal((await q.getJob(a.id))?.state, 'queued', 'replace also takes the new runAt')

      const c = await q.enqueue('c.keyed', { v: 3 }, { jobKey: 'k2', delayMs: 60_000 })
      const d = await q.enqueue('c.keyed', { v: 4 }, { jobKey: 'k2', jobKeyMode: 'dedupe' })
      assert.equal(d.id, c.id)
      assert.deepEqual((await q.getJob(c.id))?.payload, { v: 3 }, 'dedupe is a no-op')
      const e = await q.enqueue('c.keyed', { v: 5 }, { jobKey: 'k2', jobKeyMode: 'preserve_run_at' })
      assert.equal(e.id, c.id)
      const kept = await q.getJob(c.id)
      assert.deepEqual(kept?.payload, { v: 5 })
      assert.equal(kept?.state, 'delayed', 'preserve_run_at keeps the runAt')
      assert.equal(await q.removeJob('k2'), true)
      assert.equal(await q.getJob(c.id), undefined)
      assert.equal(await q.removeJob('k2'), false)

      const rec = recorder()
      await q.start({ handlers: { 'c.keyed': rec.handler('c.keyed') } })
      await waitFor('the keyed job to run', () => rec.runs.length === 1)
      await waitFor('it to complete', async () => (await q.getJob(a.id)) === undefined)
      assert.deepEqual(
        rec.runs.map((r) => r.payload),
        [{ v: 2 }],
      )
      const f = await q.enqueue('c.keyed', { v: 6 }, { jobKey: 'k1', jobKeyMode: 'dedupe' })
      assert.notEqual(f.id, a.id, 'the key is free once its job completed')
      await waitFor('the new keyed job to run', () => rec.runs.length === 2)
      await q.close()
    })

    test('enqueue in a transaction: rolled back → no job; committed → runs', async () => {
      const q = h.create<{ 'c.tx': { n: number } }>()
      const rec = recorder()
      await q.start({ handlers: { 'c.tx': rec.handler('c.tx') } })
      const db = h.database.db
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await q.enqueue('c.tx', { n: 1 }, { tx: trx })
          await q.enqueueMany([{ task: 'c.tx', payload: { n: 2 } }], { tx: trx })
          throw new Error('roll back')
        }),
        /roll back/,
      )
      const committed = await db.transaction().execute(async (trx) => {
        const jobs = await q.enqueueMany(
          [
            { task: 'c.tx', payload: { n: 3 } },
            { task: 'c.tx', payload: { n: 4 }, priority: 1 },
          ],
          { tx: trx },
        )
        assert.equal(rec.runs.length, 0, 'nothing runs before the commit')
        return jobs
      })
      assert.deepEqual(
        committed.map((j) => j.payload),
        [{ n: 3 }, { n: 4 }],
      )
      await waitFor('the committed jobs to run', () => rec.runs.length === 2)
      await new Promise((r) => setTimeout(r, 300))
      assert.deepEqual(rec.runs.map((r) => (r.payload as { n: number }).n).sort(), [3, 4])
      assert.deepEqual(await q.listJobs({ task: 'c.tx' }), [])
      await q.close()
    })

    test('jobs sharing a queueName run one at a time, in order', async () => {
      const q = h.create<{ 'c.serial': { n: number } }>()
      let running = 0
      let maxRunning = 0
      const order: number[] = []
      await q.start({
        concurrency: 4,
        handlers: {
          'c.serial': async ({ payload }) => {
            running++
            maxRunning = Math.max(maxRunning, running)
            order.push(payload.n)
            await new Promise((r) => setTimeout(r, 30))
            running--
          },
        },
      })
      await q.enqueueMany([1, 2, 3, 4].map((n) => ({ task: 'c.serial' as const, payload: { n }, queueName: 'serial-a' })))
      await waitFor('all serial jobs', () => order.length === 4)
      assert.equal(maxRunning, 1)
      assert.deepEqual(order, [1, 2, 3, 4])
      await q.close()
    })

    test('recurring schedules: registration is idempotent by name; runs repeat; unschedule stops them', async () => {
      const q = h.create<{ 'c.tick': { s: string } }>()
      const rec = recorder()
      const first = await q.schedule('every-200ms', { task: 'c.tick', payload: { s: 'a' }, everyMs: 200, startAt: new Date() })
      const again = await q.schedule('every-200ms', { task: 'c.tick', payload: { s: 'a' }, everyMs: 200, startAt: new Date(Date.now() + 60_000) })
      assert.equal(again.nextRunAt.getTime(), first.nextRunAt.getTime(), 'the same spec does not reschedule')
      const cron = await q.schedule('each-second', { task: 'c.tick', payload: { s: 'cron' }, cron: '* * * * * *', timezone: 'Europe/London' })
      assert.ok(cron.nextRunAt.getTime() > Date.now() - 10 && cron.nextRunAt.getTime() <= Date.now() + 1000)
      await assert.rejects(q.schedule('bad', { task: 'c.tick', payload: { s: 'x' }, cron: 'not a cron' }))
      await assert.rejects(q.schedule('both', { task: 'c.tick', payload: { s: 'x' }, cron: '* * * * *', everyMs: 5 }), /exactly one/)
      assert.deepEqual(
        (await q.listSchedules()).map((s) => s.name),
        ['each-second', 'every-200ms'],
      )
      assert.equal(await q.unschedule('each-second'), true)

      await q.start({ handlers: { 'c.tick': rec.handler('c.tick') } })
      await waitFor('three scheduled runs', () => rec.runs.length >= 3, 20_000)
      assert.ok(rec.runs.every((r) => (r.payload as { s: string }).s === 'a'))
      assert.ok(rec.runs.every((r) => r.job.key === 'schedule:every-200ms'))
      // Each run is for its own due time, 200 ms apart.
      const due = rec.runs.map((r) => r.job.runAt.getTime())
      const gaps = due.slice(1).map((t, i) => t - due[i])
      assert.ok(
        gaps.every((g) => g >= 200 && g % 200 === 0),
        `gaps between due times: ${gaps.join(', ')}`,
      )
      const listed = await q.listSchedules()
      assert.equal(listed.length, 1)
      assert.ok(listed[0].lastRunAt instanceof Date)
      assert.equal(await q.unschedule('every-200ms'), true)
      // A run fired just before the unschedule may still be pending: let it finish first.
      await new Promise((r) => setTimeout(r, 100))
      await waitFor('the last fired run to finish', async () => (await q.listJobs({ task: 'c.tick' })).length === 0, 20_000)
      const n = rec.runs.length
      await new Promise((r) => setTimeout(r, 500))
      assert.equal(rec.runs.length, n, 'no runs after unschedule')
      await q.close()
    })

    test('two workers fire a schedule once per due time', async () => {
      const q1 = h.create<{ 'c.once': null }>()
      const q2 = h.create<{ 'c.once': null }>()
      const rec = recorder()
      await q1.schedule('shared', { task: 'c.once', payload: null, everyMs: 150, startAt: new Date(Date.now() + 100) })
      await q1.start({ handlers: { 'c.once': rec.handler('c.once') } })
      await q2.start({ handlers: { 'c.once': rec.handler('c.once') } })
      await waitFor('four runs', () => rec.runs.length >= 4, 20_000)
      await q1.unschedule('shared')
      await q1.close()
      await q2.close()
      const due = rec.runs.map((r) => r.job.runAt.getTime())
      assert.equal(new Set(due).size, due.length, `a due time fired twice: ${due.join(', ')}`)
    })

    test("an expired lease is re-run by another worker, with the crashed attempt counted", async () => {
      const stuck = gate()
      const q1 = h.create<{ 'c.lease': { n: number } }>({ leaseMs: 600, reapIntervalMs: 100 })
      const rec = recorder()
      await q1.start({
        handlers: {
          // A worker that hangs (as if its process froze): ignores the abort signal.
          'c.lease': rec.handler('c.lease', () => stuck.promise),
        },
      })
      const job = await q1.enqueue('c.lease', { n: 1 })
      await waitFor('the first attempt', () => rec.runs.length === 1)
      assert.equal((await q1.stats()).running, 1)
      // Give up on it: stop() returns, the lease is no longer renewed.
      await q1.stop({ timeoutMs: 50 })
      const q2 = h.create<{ 'c.lease': { n: number } }>({ leaseMs: 600, reapIntervalMs: 100 })
      await q2.start({ handlers: { 'c.lease': rec.handler('c.lease') } })
      await waitFor('the re-run', () => rec.runs.length === 2, 20_000)
      assert.equal(rec.runs[1].jobId, job.id)
      assert.equal(rec.runs[1].attempt, 2)
      assert.ok(rec.runs[1].at - rec.runs[0].at >= 500, 'not before the lease expired')
      await waitFor('the job to complete', async () => (await q2.getJob(job.id)) === undefined)
      stuck.open()
      await q2.close()
    })

    test('a job is not re-run while its lease is renewed (a long job)', async () => {
      // A lease long enough for its renewals (every leaseMs / 3) to get through on a busy machine.
      const q1 = h.create<{ 'c.long': null }>({ leaseMs: 1000, reapIntervalMs: 100 })
      const q2 = h.create<{ 'c.long': null }>({ leaseMs: 1000, reapIntervalMs: 100 })
      const rec = recorder()
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
      await q1.start({ handlers: { 'c.long': rec.handler('c.long', () => sleep(3000)) } })
      await q2.start({ handlers: { 'c.long': rec.handler('c.long', () => sleep(3000)) } })
      const job = await q1.enqueue('c.long', null)
      await waitFor('the job to complete', async () => rec.runs.length >= 1 && (await q1.getJob(job.id)) === undefined, 20_000)
      assert.equal(rec.runs.length, 1, 'ran once although it outlived the lease three times')
      await q1.close()
      await q2.close()
    })

    test('stop() is graceful: running jobs finish, nothing new starts', async () => {
      const q = h.create<{ 'c.slow': { n: number } }>()
      const finished: number[] = []
      let started = 0
      await q.start({
        concurrency: 2,
        handlers: {
          'c.slow': async ({ payload }) => {
            started++
            // Long enough that a slot rarely frees before stop() (a freed slot may take job 3).
            await new Promise((r) => setTimeout(r, 600))
            finished.push(payload.n)
          },
        },
      })
      await q.enqueueMany([1, 2].map((n) => ({ task: 'c.slow' as const, payload: { n } })))
      await waitFor('both jobs to start', () => started === 2)
      await q.enqueue('c.slow', { n: 3 })
      await q.stop()
      assert.ok(finished.includes(1) && finished.includes(2), 'stop() waited for the running jobs')
      // On a busy machine a slot may have freed (and taken job 3) before stop() was called.
      assert.equal(finished.length, started, 'every job that started finished before stop() returned')
      const startedAtStop = started
      await new Promise((r) => setTimeout(r, 200))
      assert.equal(started, startedAtStop, 'no job started after stop()')
      const left = await q.listJobs({ task: 'c.slow' })
      assert.deepEqual(
        left.map((j) => [j.payload, j.state]),
        startedAtStop === 2 ? [[{ n: 3 }, 'queued']] : [],
      )
      await q.close()
    })

    test('stats() counts queued, delayed, running and failed jobs', async () => {
      await h.purge()
      const q = h.create<{ 's.block': null; 's.fail': null; 's.nobody': { n: number } }>()
      const hold = gate()
      let blocked = false
      await q.start({
        concurrency: 2,
        handlers: {
          's.block': async () => {
            blocked = true
            await hold.promise
          },
          's.fail': () => {
            throw new Error('no')
          },
        },
      })
      const failing = await q.enqueue('s.fail', null, { maxAttempts: 1 })
      await q.enqueue('s.block', null)
      await waitFor('the blocking job to run', () => blocked)
      await waitFor('the failure', async () => (await q.getJob(failing.id))?.state === 'failed')
      // No worker handles 's.nobody': they stay queued (or delayed).
      await q.enqueueMany([
        { task: 's.nobody', payload: { n: 1 } },
        { task: 's.nobody', payload: { n: 2 } },
        { task: 's.nobody', payload: { n: 3 }, delayMs: 60_000 },
      ])
      assert.deepEqual(await q.stats(), { queued: 2, delayed: 1, running: 1, failed: 1 })
      hold.open()
      await waitFor('the blocking job to finish', async () => (await q.stats()).running === 0)
      assert.deepEqual(await q.stats(), { queued: 2, delayed: 1, running: 0, failed: 1 })
      await q.close()
      await h.purge()
    })

    test('payloads are checked against TypeBox schemas at enqueue', async () => {
      const schemas = defineTasks({ 'c.typed': Type.Object({ id: Type.String() }, { additionalProperties: false }) })
      const q = h.create<{ 'c.typed': { id: string } }>({ payloadSchemas: schemas })
      // @ts-expect-error the payload type comes from the task map
      await assert.rejects(q.enqueue('c.typed', { id: 1 }), (err: Error) => err instanceof TypeError && /c\.typed/.test(err.message))
      // @ts-expect-error a payload without its required field
      await assert.rejects(q.enqueueMany([{ task: 'c.typed', payload: { id: 'ok' } }, { task: 'c.typed', payload: {} }]), TypeError)
      // @ts-expect-error unknown task names do not type-check (never called)
      void (() => q.enqueue('c.unknown', { id: 'a' }))
      assert.deepEqual(await q.listJobs({ task: 'c.typed' }), [], 'an invalid batch writes nothing')
      const ok = await q.enqueue('c.typed', { id: 'a' })
      assert.deepEqual(ok.payload, { id: 'a' })
      await q.removeJob('none')
      await h.purge()
    })
  })
}

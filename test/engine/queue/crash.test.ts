// Crash safety with real processes: a worker SIGKILLed mid-run loses no job (after a restart every
// job completes, the interrupted ones on a second attempt); on PostgreSQL, two worker processes
// share 1 000 jobs and none runs twice.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sql } from 'kysely'
import { dialects } from '../../helpers/databases.js'
import { type FixtureWorker, type QueueHarness, queueHarness, spawnWorker, waitFor } from './harness.js'

type Tasks = { 'fx.work': { n: number } }

async function count(h: QueueHarness, query: ReturnType<typeof sql<{ n: number }>>): Promise<number> {
  const { rows } = await query.execute(h.database.db)
  return Number(rows[0]?.n ?? 0)
}

async function makeTables(h: QueueHarness): Promise<void> {
  await sql`create table fx_runs (n integer not null, job_id text not null, attempt integer not null, pid integer not null)`.execute(h.database.db)
  await sql`create table fx_done (n integer primary key)`.execute(h.database.db)
}

function workerConfig(h: QueueHarness, extra: Record<string, unknown>) {
  return { databaseUrl: h.test.url, schema: h.test.schema, workerSchema: h.workerSchema, ...extra }
}

/** Sends SIGTERM and expects a clean exit (graceful stop). */
async function terminate(w: FixtureWorker): Promise<void> {
  w.child.kill('SIGTERM')
  const { code, signal } = await w.exited
  assert.equal(code, 0, `worker exit code ${code} signal ${signal}:\n${w.output()}`)
}

for (const dialect of dialects()) {
  describe(`queue crash safety [${dialect}]`, { timeout: 120_000 }, () => {
    let h: QueueHarness
    const children: FixtureWorker[] = []
    before(async () => {
      h = await queueHarness(dialect)
      await makeTables(h)
    })
    after(async () => {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL')
      await Promise.all(children.map((c) => c.exited))
      await h.cleanup()
    })

    test('a worker SIGKILLed mid-run: after a restart every job completes, none is lost', async () => {
      const JOBS = 40
      const queue = h.create<Tasks>()
      await queue.enqueueMany(Array.from({ length: JOBS }, (_, n) => ({ task: 'fx.work' as const, payload: { n } })))
      // First worker: the first attempt of every 5th job hangs, so 4 slots fill with stuck jobs.
      const first = spawnWorker(workerConfig(h, { concurrency: 4, leaseMs: 1000, reapIntervalMs: 200, hangEvery: 5 }))
      // The restarted worker's process loads meanwhile; its worker starts after the crash.
      const second = spawnWorker(workerConfig(h, { concurrency: 4, leaseMs: 1000, reapIntervalMs: 200, waitForStart: true }))
      children.push(first, second)
      await first.ready
      // Kill once four jobs hang and every finished job's completion is written (a completion
      // still in flight at the kill would legitimately run its job again, blurring the counts).
      await waitFor(
        'four jobs to hang mid-run',
        async () => {
          if ((await count(h, sql`select count(*) as n from fx_runs where n % 5 = 0`)) < 4) return false
          const s = await queue.stats()
          return s.running === 4 && s.queued + s.running === JOBS - (await count(h, sql`select count(*) as n from fx_done`))
        },
        20_000,
      )
      first.child.kill('SIGKILL')
      assert.equal((await first.exited).signal, 'SIGKILL')

      const doneAtCrash = await count(h, sql`select count(*) as n from fx_done`)
      assert.ok(doneAtCrash < JOBS, 'the crash happened mid-run')
      const atCrash = await queue.stats()
      assert.equal(atCrash.running, 4, 'the dead worker still holds four leases')
      assert.equal(atCrash.queued + atCrash.running, JOBS - doneAtCrash)

      await second.loaded
      second.child.send('start')
      await second.ready
      await waitFor('every job to complete', async () => (await count(h, sql`select count(*) as n from fx_done`)) === JOBS, 20_000)
      await waitFor('the queue to drain', async () => {
        const s = await queue.stats()
        return s.queued + s.delayed + s.running + s.failed === 0
      })
      await terminate(second)

      assert.equal(await count(h, sql`select count(distinct n) as n from fx_done`), JOBS)
      // The four interrupted jobs ran again, on their second attempt, in the second process.
      const { rows: rerun } = await sql<{ n: number; attempt: number; pid: number }>`select n, attempt, pid from fx_runs where attempt > 1 order by n`.execute(h.database.db)
      assert.equal(rerun.length, 4)
      assert.ok(rerun.every((r) => r.attempt === 2 && r.pid === second.child.pid && r.n % 5 === 0))
      // Every other job ran exactly once.
      assert.equal(await count(h, sql`select count(*) as n from fx_runs`), JOBS + 4)
      assert.equal(await count(h, sql`select count(*) as n from (select n from fx_runs group by n having count(*) > 1) d`), 4)
      await queue.close()
    })

    if (dialect === 'postgres') {
      test('two worker processes share 1 000 jobs and none runs twice', async () => {
        await sql`delete from fx_runs`.execute(h.database.db)
        await sql`delete from fx_done`.execute(h.database.db)
        const JOBS = 1000
        const a = spawnWorker(workerConfig(h, { concurrency: 8, leaseMs: 5000, workMs: 1 }))
        const b = spawnWorker(workerConfig(h, { concurrency: 8, leaseMs: 5000, workMs: 1 }))
        children.push(a, b)
        await Promise.all([a.ready, b.ready])
        const queue = h.create<Tasks>()
        const t0 = Date.now()
        await queue.enqueueMany(Array.from({ length: JOBS }, (_, n) => ({ task: 'fx.work' as const, payload: { n } })))
        await waitFor('1 000 completed jobs', async () => (await count(h, sql`select count(*) as n from fx_done`)) === JOBS, 30_000, 50)
        const elapsed = Date.now() - t0
        await terminate(a)
        await terminate(b)

        assert.equal(await count(h, sql`select count(*) as n from fx_runs`), JOBS, 'exactly 1 000 executions')
        assert.equal(await count(h, sql`select count(distinct n) as n from fx_runs`), JOBS, '1 000 distinct jobs')
        assert.equal(await count(h, sql`select count(distinct job_id) as n from fx_runs`), JOBS)
        const { rows: perPid } = await sql<{ pid: number; n: number }>`select pid, count(*) as n from fx_runs group by pid order by pid`.execute(h.database.db)
        assert.deepEqual(
          perPid.map((r) => r.pid).sort(),
          [a.child.pid, b.child.pid].sort(),
          'both processes did work',
        )
        assert.ok(
          perPid.every((r) => Number(r.n) >= 100),
          `work was shared: ${perPid.map((r) => r.n).join(' / ')}`,
        )
        assert.deepEqual(await queue.stats(), { queued: 0, delayed: 0, running: 0, failed: 0 })
        console.log(`# 1 000 jobs on two PostgreSQL worker processes: ${elapsed} ms (${perPid.map((r) => r.n).join(' / ')})`)
        await queue.close()
      })
    }
  })
}

// PostgreSQL queue: graphile-worker's runner can shut itself down while the queue is started.
// graphile NOTIFYs `worker:migrate` on a database-wide channel when it runs a breaking migration,
// and every running graphile worker of every schema in that database then shuts down and sets
// process.exitCode = 57. Installing a fresh graphile schema (another app schema, another test
// run) did exactly that: jobs stayed queued forever (flaky engine-e2e timeouts under load, when
// other runs installed schemas meanwhile) and a passing test file exited with code 57.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { runMigrations } from 'graphile-worker'
import pg from 'pg'
import { type QueueHarness, queueHarness, waitFor } from './harness.js'

const url = process.env.PLEXUS_TEST_DATABASE_URL

describe('PgJobQueue supervision [postgres]', { skip: !url && 'PLEXUS_TEST_DATABASE_URL is not set', timeout: 120_000 }, () => {
  let h: QueueHarness
  const otherSchemas: string[] = []
  before(async () => {
    h = await queueHarness('postgres')
  })
  after(async () => {
    await h?.cleanup()
    if (!otherSchemas.length) return
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    for (const s of otherSchemas) await c.query(`drop schema if exists ${s} cascade`)
    await c.end()
  })

  /** Installs graphile-worker in a fresh schema of the same database: a breaking `worker:migrate` NOTIFY. */
  const installAnotherSchema = async () => {
    const schema = `t_${randomBytes(6).toString('hex')}_gw`
    otherSchemas.push(schema)
    await runMigrations({ connectionString: url, schema })
  }

  test("a fresh graphile schema installed elsewhere in the database neither stops the worker nor sets the exit code", async () => {
    const exitCode = process.exitCode
    const q = h.create<{ 'c.ping': { n: number } }>()
    const ran: number[] = []
    await q.start({ concurrency: 2, handlers: { 'c.ping': ({ payload }) => void ran.push(payload.n) } })
    try {
      await q.enqueue('c.ping', { n: 1 })
      await waitFor('the first job', () => ran.includes(1), 30_000)

      await installAnotherSchema()
      // graphile receives the notification asynchronously; give it the chance to act on it.
      await new Promise((r) => setTimeout(r, 500))
      await q.enqueue('c.ping', { n: 2 })
      await waitFor('a job enqueued after the other schema was installed', () => ran.includes(2), 30_000)
      assert.equal(process.exitCode, exitCode, 'graphile exit code 57 (breaking migration) was undone')

      // Again: a restarted worker is supervised too.
      await installAnotherSchema()
      await new Promise((r) => setTimeout(r, 500))
      await q.enqueue('c.ping', { n: 3 })
      await waitFor('a job enqueued after a second install', () => ran.includes(3), 30_000)
      assert.equal(process.exitCode, exitCode)
      // The restarted runner is registered (its lease renewed), and the old registration is gone.
      const workers = await h.database.db.selectFrom('queue_workers').select('id').execute()
      assert.equal(workers.length, 1, JSON.stringify(workers))
    } finally {
      await q.close({ timeoutMs: 5000 })
      process.exitCode = exitCode
    }
    const workers = await h.database.db.selectFrom('queue_workers').select('id').execute()
    assert.deepEqual(workers, [], 'stop() removed the registration')
  })
})

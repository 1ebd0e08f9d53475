// npm run bench -- queue
// The job queue on its own: enqueue rate (batched and one by one), run rate with a no-op handler,
// and the enqueue → handler latency with a started worker (the in-process wake-up). SQLite always;
// graphile-worker on PostgreSQL too when PLEXUS_TEST_DATABASE_URL is set (default settings, and
// with its local queue). Target: the built-in queue runs ≥ 3 000 jobs/s, three times the engine's
// 1 000 transactions/s, and picks a job up within 5 ms (p50).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { JobQueue } from '../src/engine/queue/job-queue.js'
import { PgJobQueue } from '../src/engine/queue/pg-job-queue.js'
import { SqliteJobQueue } from '../src/engine/queue/sqlite-job-queue.js'
import { type Database, openDatabase } from '../src/store/database.js'
import { migrateToLatest } from '../src/store/migrations/index.js'
import { machine, report } from './_report.js'

type Tasks = { 'b.noop': { n: number } }

const RUN_JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 20_000)
const CONCURRENCY = Number(process.env.BENCH_QUEUE_CONCURRENCY ?? 8)

interface Figures {
  batchEnqueue: number
  singleEnqueue: number
  run: number
  p50: number
  p99: number
}

const rate = (n: number, ms: number) => (n / ms) * 1000
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]

async function measure(make: () => JobQueue<Tasks>, jobs: number): Promise<Figures> {
  // Batched enqueue, then run them all.
  const q = make()
  let t = performance.now()
  for (let i = 0; i < jobs; i += 1000) await q.enqueueMany(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ task: 'b.noop' as const, payload: { n: i + k } })))
  const batchEnqueue = rate(jobs, performance.now() - t)
  let done = 0
  let finish!: () => void
  const all = new Promise<void>((r) => (finish = r))
  t = performance.now()
  await q.start({
    concurrency: CONCURRENCY,
    handlers: {
      'b.noop': () => {
        if (++done === jobs) finish()
      },
    },
  })
  await all
  const run = rate(jobs, performance.now() - t)
  await q.stop()

  // One by one (no transaction), worker stopped.
  const single = Math.min(2000, jobs)
  t = performance.now()
  for (let i = 0; i < single; i++) await q.enqueue('b.noop', { n: i })
  const singleEnqueue = rate(single, performance.now() - t)

  // Latency: enqueue one job at a time into a started, idle worker.
  let seen: (() => void) | undefined
  await q.start({ concurrency: CONCURRENCY, handlers: { 'b.noop': () => seen?.() } })
  for (;;) {
    // drain the jobs enqueued one by one
    const st = await q.stats()
    if (st.queued + st.running === 0) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const latencies: number[] = []
  for (let i = 0; i < 300; i++) {
    const picked = new Promise<void>((r) => (seen = r))
    const t0 = performance.now()
    await q.enqueue('b.noop', { n: i })
    await picked
    latencies.push(performance.now() - t0)
    seen = undefined
  }
  await q.close()
  return { batchEnqueue, singleEnqueue, run, p50: pct(latencies, 50), p99: pct(latencies, 99) }
}

const row = (name: string, f: Figures) => [
  name,
  `enqueue ${f.batchEnqueue.toFixed(0)} jobs/s batched, ${f.singleEnqueue.toFixed(0)} jobs/s one by one`,
  `run ${f.run.toFixed(0)} jobs/s`,
  `enqueue → handler p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms`,
]

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-queue-'))
  const sqlite = openDatabase(`sqlite:${join(dir, 'plexus.db')}`)
  let s: Figures
  try {
    await migrateToLatest(sqlite.db)
    s = await measure(() => new SqliteJobQueue<Tasks>({ db: sqlite.db }), RUN_JOBS)
  } finally {
    await sqlite.close()
    rmSync(dir, { recursive: true, force: true })
  }
  report('queue (SQLite, built-in)', {
    setup: `${RUN_JOBS} no-op jobs, concurrency ${CONCURRENCY}, a real SQLite file (WAL)`,
    rows: [row('SqliteJobQueue', s)],
    verdicts: [
      [`run ${s.run.toFixed(0)} jobs/s (target ≥ 3 000)`, s.run >= 3000],
      [`pick-up p50 ${s.p50.toFixed(2)} ms (target < 5 ms)`, s.p50 < 5],
    ],
  })

  const url = process.env.PLEXUS_TEST_DATABASE_URL
  if (url) {
    const schema = `bench_q_${Date.now()}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    await admin.query(`create schema ${schema}`)
    let database: Database | undefined
    try {
      database = openDatabase(url, { schema })
      await migrateToLatest(database.db)
      const db = database.db
      const jobs = Math.min(RUN_JOBS, 5000)
      const make = (localQueueSize?: number) => () => new PgJobQueue<Tasks>({ db, connectionString: url, workerSchema: `${schema}_gw`, pollIntervalMs: 1000, ...(localQueueSize ? { localQueueSize } : {}) })
      await make()().migrate()
      const plain = await measure(make(), jobs)
      const local = await measure(make(CONCURRENCY * 2), jobs)
      report('queue (PostgreSQL, graphile-worker 0.17, one process)', {
        setup: `${jobs} no-op jobs, concurrency ${CONCURRENCY}`,
        rows: [row('PgJobQueue (default)', plain), row(`PgJobQueue (localQueueSize ${CONCURRENCY * 2})`, local)],
        verdicts: [],
      })
    } finally {
      await database?.close()
      await admin.query(`drop schema if exists ${schema} cascade`)
      await admin.query(`drop schema if exists ${schema}_gw cascade`)
      await admin.end()
    }
  }
  console.log(machine())
}

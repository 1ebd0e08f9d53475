// Queue test harness: one database per dialect (SQLite file, or a fresh PostgreSQL schema plus a
// graphile-worker schema of its own), queues created on it and all closed afterwards.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import pg from 'pg'
import { createJobQueue } from '../../../src/engine/queue/create-job-queue.js'
import type { JobQueue, QueueOptions, TaskPayloads } from '../../../src/engine/queue/job-queue.js'
import { PgJobQueue } from '../../../src/engine/queue/pg-job-queue.js'
import { type Database, openDatabase } from '../../../src/store/database.js'
import { migrateToLatest } from '../../../src/store/migrations/index.js'
import { createTestDatabase, type TestDatabase } from '../../helpers/databases.js'

export interface QueueHarness {
  readonly dialect: 'sqlite' | 'postgres'
  readonly test: TestDatabase
  readonly database: Database
  /** graphile-worker's schema (PostgreSQL). */
  readonly workerSchema: string | undefined
  create<T extends TaskPayloads = TaskPayloads>(opts?: QueueOptions<T>): JobQueue<T>
  /** Deletes every job and schedule. */
  purge(): Promise<void>
  cleanup(): Promise<void>
}

export async function queueHarness(dialect: 'sqlite' | 'postgres'): Promise<QueueHarness> {
  const test = await createTestDatabase(dialect)
  const database = openDatabase(test.url, { ...(test.schema ? { schema: test.schema } : {}), poolSize: 20 })
  await migrateToLatest(database.db, database.schema)
  const workerSchema = test.schema ? `${test.schema}_gw` : undefined
  const queues: JobQueue<any>[] = []
  const create = <T extends TaskPayloads>(opts: QueueOptions<T> = {}): JobQueue<T> => {
    const q = createJobQueue<T>(database, { pollIntervalMs: 100, ...opts, databaseUrl: test.url, ...(workerSchema ? { workerSchema } : {}) })
    queues.push(q)
    return q
  }
  await create().migrate()
  return {
    dialect,
    test,
    database,
    workerSchema,
    create,
    async purge() {
      await database.db.deleteFrom('queue_schedules').execute()
      if (dialect === 'sqlite') await database.db.deleteFrom('queue_jobs').execute()
      else await sql`delete from ${sql.id(workerSchema as string)}._private_jobs`.execute(database.db)
    },
    async cleanup() {
      for (const q of queues) await q.close({ timeoutMs: 2000 })
      for (const q of queues) if (q instanceof PgJobQueue) await q.drained()
      await database.close()
      if (workerSchema) {
        const c = new pg.Client({ connectionString: test.url })
        await c.connect()
        await c.query(`drop schema if exists ${workerSchema} cascade`)
        await c.end()
      }
      await test.cleanup()
    },
  }
}

/** Polls `check` until it returns a truthy value; fails with `what` at the deadline. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** A promise with its resolve function, for handlers the test releases. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void
  const promise = new Promise<void>((r) => (open = r))
  return { promise, open }
}

export interface FixtureWorker {
  readonly child: ChildProcess
  /** With `waitForStart`: the process is loaded; send 'start' to start its worker. */
  readonly loaded: Promise<void>
  readonly ready: Promise<void>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  output(): string
}

/** Spawns `node --import tsx fixtures/queue-worker.ts <config>`; `ready` once its worker started. */
export function spawnWorker(config: Record<string, unknown>): FixtureWorker {
  const script = fileURLToPath(new URL('./fixtures/queue-worker.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const message = (expected: string) =>
    new Promise<void>((resolve, reject) => {
      child.on('message', (m) => m === expected && resolve())
      void exited.then(({ code, signal }) => reject(new Error(`worker exited before '${expected}' (code ${code}, signal ${signal}):\n${out}`)))
    })
  const loaded = message('loaded')
  const ready = message('ready')
  loaded.catch(() => {})
  ready.catch(() => {})
  return { child, loaded, ready, exited, output: () => out }
}

// Picks the queue for the app's database: the built-in SQLite queue, or graphile-worker on
// PostgreSQL. A capability of the store, not a scattered dialect check.
import type { Database } from '../../store/database.js'
import type { JobQueue, QueueOptions, TaskPayloads } from './job-queue.js'
import { PgJobQueue } from './pg-job-queue.js'
import { SqliteJobQueue } from './sqlite-job-queue.js'

export interface CreateJobQueueOptions<T extends TaskPayloads> extends QueueOptions<T> {
  /** PostgreSQL: the connection string for graphile-worker's own pool (the same database). */
  databaseUrl?: string
  /** PostgreSQL: graphile-worker's schema (default `graphile_worker`). */
  workerSchema?: string
}

export function createJobQueue<T extends TaskPayloads = TaskPayloads>(database: Database, opts: CreateJobQueueOptions<T> = {}): JobQueue<T> {
  const { databaseUrl, workerSchema, ...common } = opts
  if (database.dialect === 'sqlite') return new SqliteJobQueue<T>({ ...common, db: database.db })
  if (!databaseUrl) throw new TypeError('the PostgreSQL queue needs databaseUrl (for graphile-worker)')
  return new PgJobQueue<T>({ ...common, db: database.db, connectionString: databaseUrl, ...(workerSchema ? { workerSchema } : {}) })
}

// Frozen in time: never import application code here, never edit after it has shipped.
//
// The durable job queue (src/engine/queue/). Times in these tables are epoch milliseconds
// (bigint), not ISO text: the claim query compares them on every poll and backoff is arithmetic.
//
// - queue_jobs: the built-in queue (SQLite). Created on PostgreSQL too so both dialects share one
//   schema, but there graphile-worker keeps jobs in its own schema and this table stays empty.
// - queue_schedules: recurring schedules (cron or fixed interval), used on both dialects.
// - queue_workers: live worker registrations (PostgreSQL): a worker's job locks hold while its
//   registration is renewed; an expired registration lets other workers re-run its jobs.
import { type Kysely, sql } from 'kysely'
import { isPostgres } from './dialect-types.js'

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db)
  await db.schema
    .createTable('queue_jobs')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('queue_name', 'text')
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('key', 'text')
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint('queue_jobs_status', sql`status in ('queued', 'running', 'failed')`)
    .execute()
  // The claim reads `status = 'queued' and queue_name is null` in (priority, run_at, id) order and
  // stops at its limit; the same index serves the per-queue lookups and the lease scans
  // (`status = 'running'`).
  await db.schema.createIndex('queue_jobs_claim').on('queue_jobs').columns(['status', 'queue_name', 'priority', 'run_at', 'id']).execute()
  await db.schema.createIndex('queue_jobs_key').on('queue_jobs').column('key').unique().execute()

  await db.schema
    .createTable('queue_schedules')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('task', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('cron', 'text')
    .addColumn('timezone', 'text')
    .addColumn('every_ms', 'bigint')
    .addColumn('options', 'text', (c) => c.notNull())
    .addColumn('next_run_at', 'bigint', (c) => c.notNull())
    .addColumn('last_run_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('queue_schedules_next').on('queue_schedules').column('next_run_at').execute()

  await db.schema
    .createTable('queue_workers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('info', 'text')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['queue_workers', 'queue_schedules', 'queue_jobs']) await db.schema.dropTable(t).ifExists().execute()
}

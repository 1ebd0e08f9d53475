// The durable job queue: one contract, two implementations.
//
// - SqliteJobQueue (default, embedded): jobs live in the app's SQLite database and run in the
//   same process; an enqueue wakes the worker at once.
// - PgJobQueue (scale-out): graphile-worker on PostgreSQL; many `plexus worker` processes share
//   the work.
//
// The contract (tested by test/engine/queue/contract.test.ts against both):
// - At-least-once. A job runs until its handler resolves; a handler that throws is retried with
//   exponential backoff (`retryDelayMs`) until `maxAttempts` attempts were made, then the job is
//   kept as `failed` for inspection. Completed jobs are deleted. Handlers must be idempotent.
// - Leases. A claimed job is locked by its worker; the lock is renewed while the worker lives
//   (heartbeat) and expires `leaseMs` after the worker stops renewing it (crash, SIGKILL, network
//   partition). Expired jobs are re-run by any worker, and the crashed attempt counts. No job runs
//   twice while its lease holds.
// - Transactional enqueue: `{ tx }` writes the job with the caller's Kysely transaction, so a
//   rolled-back transaction leaves no job and a committed one always has its jobs.
// - Job keys (idempotency): see JobKeyMode.
// - Order: jobs run in (priority, runAt) order; jobs enqueued without runAt keep the order they
//   were enqueued in. Jobs sharing a `queueName` run one at a time, in that order.
// - A worker only claims jobs of the tasks it has handlers for; other jobs stay queued.
// - Recurring schedules: registered by name (idempotent), stored in the database, fired by any
//   running worker exactly once per due time (compare-and-set on the schedule row).
import type { Kysely } from 'kysely'
import type { Static, TSchema } from 'typebox'

/** Task name → payload type. Payloads are JSON values. */
export type TaskPayloads = Record<string, unknown>

/** The payload types of a map of TypeBox schemas: `type Tasks = PayloadsOf<typeof taskSchemas>`. */
export type PayloadsOf<S extends Record<string, TSchema>> = { [K in keyof S]: Static<S[K]> }

/** Checks the shape of a task schema map, keeping its literal type (for `payloadSchemas`). */
export function defineTasks<const S extends Record<string, TSchema>>(schemas: S): S {
  return schemas
}

/**
 * What a second enqueue with the same `jobKey` does (the same three modes as graphile-worker):
 * - `replace` (default): if the earlier job is still pending (queued, delayed, or waiting to
 *   retry), it is updated in place (task, payload, runAt, priority, maxAttempts, queueName) and its
 *   attempts are reset; the job id stays the same. If it is running or has failed permanently, it
 *   loses its key (a running one will not be retried) and a new job is created.
 * - `preserve_run_at`: like `replace`, but a pending job that has not been attempted keeps its
 *   runAt (a debounce that does not push the run back).
 * - `dedupe`: a no-op while any job with the key exists (pending, running, or failed and kept);
 *   the existing job is returned. The key is free again once its job completes.
 */
export type JobKeyMode = 'replace' | 'preserve_run_at' | 'dedupe'

export interface JobOptions {
  /** When to run (default: now). */
  runAt?: Date
  /** Run this many milliseconds from now (ignored when `runAt` is given). */
  delayMs?: number
  /** Attempts before the job fails permanently (default 25; at most 32767). */
  maxAttempts?: number
  /** Idempotency key; see JobKeyMode. */
  jobKey?: string
  jobKeyMode?: JobKeyMode
  /** Lower runs first (default 0; an integer from -32768 to 32767). */
  priority?: number
  /** Jobs with the same queue name run one at a time. Keep the number of names small. */
  queueName?: string
}

export interface TransactionOption {
  /**
   * A Kysely transaction (or the database itself) on the queue's database: the job is written
   * with it and exists only if that transaction commits.
   */
  tx?: Kysely<any>
}

export type EnqueueOptions = JobOptions & TransactionOption

/** One job for enqueueMany: task, payload and options. */
export type JobSpec<T extends TaskPayloads> = { [K in keyof T & string]: { task: K; payload: T[K] } & JobOptions }[keyof T & string]

/** Where a job is: `queued` (ready), `delayed` (runAt in the future, first run or retry), `running`, `failed` (permanently). */
export type JobState = 'queued' | 'delayed' | 'running' | 'failed'

export interface Job<P = unknown> {
  /** Unique per database; a string on both dialects. */
  readonly id: string
  readonly task: string
  readonly payload: P
  readonly queueName: string | null
  readonly priority: number
  readonly runAt: Date
  /** Attempts made so far (while running: including this one). */
  readonly attempts: number
  readonly maxAttempts: number
  readonly key: string | null
  readonly lastError: string | null
  readonly createdAt: Date
  readonly state: JobState
}

/** pino-compatible: `logger.info({ jobId }, 'message')` or `logger.info('message')`. */
export interface QueueLogger {
  debug(objOrMsg: object | string, msg?: string): void
  info(objOrMsg: object | string, msg?: string): void
  warn(objOrMsg: object | string, msg?: string): void
  error(objOrMsg: object | string, msg?: string): void
  child?(bindings: Record<string, unknown>): QueueLogger
}

export interface JobContext<P> {
  readonly job: Job<P>
  readonly payload: P
  /** 1 on the first run, 2 on the first retry (or the re-run after a crash), … */
  readonly attempt: number
  readonly logger: QueueLogger
  /** Aborted when the worker is stopping and its grace period ran out, or the lease was lost. */
  readonly signal: AbortSignal
}

/** Must be idempotent: a job can run more than once (after a crash, a lost lease, or a retry). */
export type JobHandler<P> = (ctx: JobContext<P>) => Promise<unknown> | unknown

export type JobHandlers<T extends TaskPayloads> = { [K in keyof T]?: JobHandler<T[K]> }

export interface StartOptions<T extends TaskPayloads> {
  /** Jobs run at the same time by this worker (default 4). */
  concurrency?: number
  handlers: JobHandlers<T>
  /** Fire due recurring schedules from this worker (default true). */
  scheduler?: boolean
}

export interface StopOptions {
  /**
   * How long to wait for running jobs (default 30 s). When it runs out their signals are
   * aborted and stop() returns; their leases are no longer renewed, so they expire and the jobs
   * run again elsewhere (attempt counted).
   */
  timeoutMs?: number
}

export interface QueueStats {
  /** Ready to run now. */
  queued: number
  /** Waiting for a future runAt (first run or retry backoff). */
  delayed: number
  running: number
  /** Failed permanently, kept for inspection. */
  failed: number
}

export type ScheduleSpec<T extends TaskPayloads> = {
  [K in keyof T & string]: {
    task: K
    payload: T[K]
    /** A cron pattern (croner syntax, 5 or 6 fields); exactly one of `cron` and `everyMs`. */
    cron?: string
    /** IANA time zone for `cron` (default UTC). */
    timezone?: string
    /** A fixed interval in milliseconds. */
    everyMs?: number
    /** First run (default: the next cron match, or now + everyMs). */
    startAt?: Date
    maxAttempts?: number
    priority?: number
    queueName?: string
  }
}[keyof T & string]

export interface Schedule {
  readonly name: string
  readonly task: string
  readonly payload: unknown
  readonly cron: string | null
  readonly timezone: string | null
  readonly everyMs: number | null
  readonly nextRunAt: Date
  readonly lastRunAt: Date | null
}

export interface ListJobsOptions {
  state?: JobState
  task?: string
  /** Default 100. */
  limit?: number
}

export interface JobQueue<T extends TaskPayloads = TaskPayloads> {
  readonly dialect: 'sqlite' | 'postgres'
  /** Creates what the queue needs beyond the app migrations (graphile-worker's schema). Idempotent. */
  migrate(): Promise<void>

  enqueue<K extends keyof T & string>(task: K, payload: T[K], options?: EnqueueOptions): Promise<Job<T[K]>>
  /** All or nothing (one transaction); returns the jobs in the order given. */
  enqueueMany(jobs: ReadonlyArray<JobSpec<T>>, options?: TransactionOption): Promise<Job[]>
  /** Removes the pending job with this key; a running one loses its key and is not retried. */
  removeJob(jobKey: string): Promise<boolean>

  /** Registers (or updates) a recurring schedule by name. Same name and spec: no change. */
  schedule(name: string, spec: ScheduleSpec<T>): Promise<Schedule>
  unschedule(name: string): Promise<boolean>
  listSchedules(): Promise<Schedule[]>

  /** Starts this process's worker. */
  start(options: StartOptions<T>): Promise<void>
  /** Stops claiming, waits for running jobs (see StopOptions). */
  stop(options?: StopOptions): Promise<void>
  /** stop(), then releases the queue's own resources (not the app's database). */
  close(options?: StopOptions): Promise<void>

  stats(): Promise<QueueStats>
  getJob(id: string): Promise<Job | undefined>
  listJobs(options?: ListJobsOptions): Promise<Job[]>
}

/** Options both implementations accept. */
export interface QueueOptions<T extends TaskPayloads> {
  logger?: QueueLogger
  /** TypeBox schemas per task: payloads are checked at enqueue (a TypeError names the problem). */
  payloadSchemas?: { [K in keyof T]?: TSchema }
  /** A worker's lock on its jobs expires this long after its last renewal (default 30 s). */
  leaseMs?: number
  /** How often expired leases are looked for (default leaseMs / 2). */
  reapIntervalMs?: number
  /** Safety poll for due jobs and schedules (default 1 s). */
  pollIntervalMs?: number
}

export const DEFAULT_MAX_ATTEMPTS = 25
export const DEFAULT_CONCURRENCY = 4
export const DEFAULT_LEASE_MS = 30_000
export const DEFAULT_STOP_TIMEOUT_MS = 30_000

/**
 * The delay before retry after attempt `attempt` failed: e^min(attempt, 10) seconds (2.7 s, 7.4 s,
 * 20 s, 55 s, … capped at about 6 h). This is graphile-worker's fixed formula; the SQLite queue
 * uses the same so both behave alike.
 */
export function retryDelayMs(attempt: number): number {
  return Math.round(Math.exp(Math.min(Math.max(attempt, 1), 10)) * 1000)
}

export const silentLogger: QueueLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function childLogger(logger: QueueLogger, bindings: Record<string, unknown>): QueueLogger {
  return logger.child ? logger.child(bindings) : logger
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name || 'Error'
  return typeof err === 'string' ? err : JSON.stringify(err) ?? String(err)
}

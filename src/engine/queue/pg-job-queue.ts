// Scale-out queue: graphile-worker 0.17 on PostgreSQL, behind the JobQueue contract.
//
// - Jobs live in graphile-worker's own schema (`workerSchema`, default `graphile_worker`; tests
//   use one per run). `migrate()` runs graphile-worker's migrations.
// - Enqueue calls `<workerSchema>.add_job(...)` through Kysely, so `{ tx }` (a Kysely transaction
//   on the app database) makes the job part of the caller's transaction. graphile-worker's
//   NOTIFY is delivered at commit, waking every worker at once (no polling delay).
// - Job keys map to graphile's modes: replace, preserve_run_at, dedupe → unsafe_dedupe.
// - Retries: graphile's fixed backoff, e^min(attempt, 10) s (the SQLite queue uses the same).
//   Delayed jobs and retries are found by graphile's poll (`pollIntervalMs`, default 1 s).
// - Leases: graphile only frees a lock after 4 hours. So each worker pool registers in
//   `queue_workers` (app schema) and renews it every leaseMs/3; any worker's reaper frees the
//   locks of pools whose registration expired (graphile's `force_unlock_workers`), deleting the
//   registration in the same transaction, then NOTIFYs so the jobs re-run at once. The crashed
//   attempt stays counted. A pool that finds its registration gone aborts its running jobs
//   (their `signal`), because they are being re-run elsewhere, and registers again.
// - Recurring schedules: our Scheduler (queue_schedules, app schema) rather than graphile's
//   crontab, which is static per-process configuration; see scheduler.ts.
// - Supervision: graphile's runner can shut itself down while we did not ask it to. Above all,
//   graphile NOTIFYs `worker:migrate` when it runs a breaking migration, on a channel that is
//   database-wide, not per schema: installing a fresh graphile schema anywhere in the database
//   (another app schema, another test run, a new tenant) makes every running worker of every
//   schema shut down and set `process.exitCode = 57`. A failed batch completion also shuts the
//   pool down. So when the runner ends without stop(), we check our own schema (migrate(): it
//   throws if a newer, incompatible graphile migrated it), undo the exit code for a false alarm,
//   and start a new runner (with backoff if it keeps ending). Only a real incompatibility
//   leaves the worker stopped (logged as an error, exit code 57 kept).

import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { Logger, type Job as GraphileJob, type JobHelpers, type Runner, type TaskList, type WorkerEvents, run, runMigrations } from 'graphile-worker'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'
import type { DB } from '../../store/tables.js'
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_STOP_TIMEOUT_MS,
  type EnqueueOptions,
  type Job,
  type JobHandler,
  type JobQueue,
  type JobSpec,
  type JobState,
  type ListJobsOptions,
  type QueueLogger,
  type QueueOptions,
  type QueueStats,
  type Schedule,
  type ScheduleSpec,
  type StartOptions,
  type StopOptions,
  type TaskPayloads,
  type TransactionOption,
  childLogger,
  errorMessage,
  silentLogger,
} from './job-queue.js'
import { PayloadChecker } from './payload-checker.js'
import { Scheduler } from './scheduler.js'

export interface PgJobQueueOptions<T extends TaskPayloads> extends QueueOptions<T> {
  /** The app's Kysely instance on PostgreSQL (openDatabase(...).db): enqueue, schedules, leases. */
  db: Kysely<DB>
  /** For graphile-worker's own pool (its runner and migrations). */
  connectionString: string
  /** graphile-worker's schema (default `graphile_worker`). */
  workerSchema?: string
  /** graphile-worker's pool size (default concurrency + 4). */
  maxPoolSize?: number
  /** Write job results (completions, failures) in batches per tick: fewer round trips (default true). */
  batchResults?: boolean
  /**
   * Fetch and lock up to this many jobs at once per worker process (graphile-worker's local
   * queue; default off). Faster under load, but fetched jobs are locked, with their attempt
   * counted, before they start: after a crash they run again once the lease expires.
   */
  localQueueSize?: number
}

interface Worker {
  /** The current graphile runner (replaced when it ends on its own; see #supervise). */
  runner: Runner
  readonly pool: pg.Pool
  /** The current runner's pool id: our registration in queue_workers and graphile's locked_by. */
  id: string
  readonly active: Map<string, AbortController>
  readonly timers: NodeJS.Timeout[]
  heartbeat: NodeJS.Timeout | undefined
  stopping: boolean
  /** A restart of the runner in progress (stop() waits for it). */
  restarting: Promise<void> | undefined
  /** Ends a restart's backoff wait early (stop()). */
  cancelBackoff: (() => void) | undefined
  /** Restarts in a row of runners that lived less than RESTART_RESET_MS. */
  restarts: number
}

/** A running graphile runner; `exitCode`: see #run. */
interface Started {
  runner: Runner
  id: string
  exitCode: { value: typeof process.exitCode }
}

/** A runner that lived this long resets the restart backoff. */
const RESTART_RESET_MS = 60_000
/** Longest wait before restarting a runner that keeps ending. */
const RESTART_MAX_DELAY_MS = 30_000

interface Prepared {
  identifier: string
  payload: unknown
  queue_name: string | null
  run_at: string | null
  delay_ms: number
  max_attempts: number
  job_key: string | null
  priority: number
  job_key_mode: string
}

interface PrivateJobRow {
  id: number | string
  payload: unknown
  priority: number
  run_at: Date
  attempts: number
  max_attempts: number
  last_error: string | null
  created_at: Date
  key: string | null
  locked_at: Date | null
}

/**
 * runAt when not given: now + delayMs by the database clock. graphile-worker orders by (priority,
 * run_at) only, so clock_timestamp() plus a microsecond per position keeps jobs enqueued together
 * (or in one transaction, where now() would be constant) in FIFO order.
 */
const defaultRunAt = sql`clock_timestamp() + (e.s->>'delay_ms')::bigint * interval '1 millisecond' + e.n * interval '1 microsecond'`

/** Epoch milliseconds by the database clock (leases are compared across machines). */
const dbNowMs = sql<number>`(floor(extract(epoch from clock_timestamp()) * 1000))::bigint`

export class PgJobQueue<T extends TaskPayloads = TaskPayloads> implements JobQueue<T> {
  readonly dialect = 'postgres' as const
  readonly #db: Kysely<DB>
  readonly #connectionString: string
  readonly #schema: string
  readonly #logger: QueueLogger
  readonly #checker: PayloadChecker
  readonly #leaseMs: number
  readonly #reapMs: number
  readonly #pollMs: number
  readonly #maxPoolSize: number | undefined
  readonly #batchResults: boolean
  readonly #localQueueSize: number | undefined
  readonly #scheduler: Scheduler
  #worker: Worker | undefined
  #background: Promise<void>[] = []

  constructor(opts: PgJobQueueOptions<T>) {
    this.#db = opts.db
    this.#connectionString = opts.connectionString
    this.#schema = opts.workerSchema ?? 'graphile_worker'
    if (!/^[a-z_][a-z0-9_]*$/.test(this.#schema)) throw new TypeError(`invalid worker schema name: ${this.#schema}`)
    this.#logger = opts.logger ?? silentLogger
    this.#checker = new PayloadChecker(opts.payloadSchemas as Record<string, never>)
    this.#leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS
    this.#reapMs = opts.reapIntervalMs ?? Math.max(50, Math.floor(this.#leaseMs / 2))
    this.#pollMs = opts.pollIntervalMs ?? 1000
    this.#maxPoolSize = opts.maxPoolSize
    this.#batchResults = opts.batchResults ?? true
    this.#localQueueSize = opts.localQueueSize
    this.#scheduler = new Scheduler({
      db: this.#db,
      logger: this.#logger,
      pollIntervalMs: this.#pollMs,
      enqueue: (tx, task, payload, o) => this.#add(tx, [this.#prepare({ task, payload, ...o } as JobSpec<T>)]),
    })
  }

  get workerSchema(): string {
    return this.#schema
  }

  /** graphile-worker's migrations, serialised across processes by an advisory lock. */
  async migrate(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#connectionString })
    await client.connect()
    const key = `plexus:queue-migrate:${this.#schema}`
    try {
      await client.query('select pg_advisory_lock(hashtext($1))', [key])
      await runMigrations({ connectionString: this.#connectionString, schema: this.#schema, logger: this.#graphileLogger() })
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [key]).catch(() => {})
      await client.end()
    }
  }

  // ---- enqueue ---------------------------------------------------------------------------

  async enqueue<K extends keyof T & string>(task: K, payload: T[K], options: EnqueueOptions = {}): Promise<Job<T[K]>> {
    await this.#checker.check(task, payload)
    const { tx, ...o } = options
    const [job] = await this.#add(tx ?? this.#db, [this.#prepare({ ...o, task, payload } as JobSpec<T>)])
    return job as Job<T[K]>
  }

  async enqueueMany(jobs: ReadonlyArray<JobSpec<T>>, options: TransactionOption = {}): Promise<Job[]> {
    if (jobs.length === 0) return []
    for (const j of jobs) await this.#checker.check(j.task, j.payload)
    // One statement: all or nothing even without a caller's transaction.
    return this.#add(options.tx ?? this.#db, jobs.map((j) => this.#prepare(j)))
  }

  #prepare(spec: JobSpec<T>): Prepared {
    if (spec.runAt && !Number.isFinite(spec.runAt.getTime())) throw new TypeError('runAt is not a valid date')
    const maxAttempts = spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1 && maxAttempts <= 32767)) throw new TypeError('maxAttempts must be an integer from 1 to 32767')
    const priority = spec.priority ?? 0
    if (!(Number.isInteger(priority) && priority >= -32768 && priority <= 32767)) throw new TypeError('priority must be an integer from -32768 to 32767')
    const mode = spec.jobKeyMode ?? 'replace'
    return {
      identifier: spec.task,
      payload: spec.payload ?? null,
      queue_name: spec.queueName ?? null,
      run_at: spec.runAt ? spec.runAt.toISOString() : null,
      delay_ms: Math.max(0, Math.round(spec.delayMs ?? 0)),
      max_attempts: maxAttempts,
      job_key: spec.jobKey ?? null,
      priority,
      job_key_mode: mode === 'dedupe' ? 'unsafe_dedupe' : mode,
    }
  }

  async #add(db: Kysely<any>, specs: Prepared[]): Promise<Job[]> {
    if (specs.length === 1) return [await this.#addOne(db, specs[0])]
    if (specs.every((s) => s.job_key == null)) return this.#addBulk(db, specs)
    const { rows } = await sql<PrivateJobRow>`
      select j.* from json_array_elements(${JSON.stringify(specs)}::json) with ordinality as e(s, n)
      cross join lateral ${sql.id(this.#schema)}.add_job(
        identifier => e.s->>'identifier',
        payload => e.s->'payload',
        queue_name => e.s->>'queue_name',
        run_at => coalesce((e.s->>'run_at')::timestamptz, ${defaultRunAt}),
        max_attempts => (e.s->>'max_attempts')::int,
        job_key => e.s->>'job_key',
        priority => (e.s->>'priority')::int,
        job_key_mode => e.s->>'job_key_mode'
      ) as j
      order by e.n`.execute(db)
    const now = Date.now()
    return rows.map((r, i) => toJob({ ...r, task: specs[i].identifier, queue_name: specs[i].queue_name }, now))
  }

  async #addOne(db: Kysely<any>, s: Prepared): Promise<Job> {
    const { rows } = await sql<PrivateJobRow>`
      select * from ${sql.id(this.#schema)}.add_job(
        identifier => ${s.identifier},
        payload => ${JSON.stringify(s.payload)}::json,
        queue_name => ${s.queue_name},
        run_at => coalesce(${s.run_at}::timestamptz, clock_timestamp() + ${s.delay_ms}::bigint * interval '1 millisecond'),
        max_attempts => ${s.max_attempts}::int,
        job_key => ${s.job_key},
        priority => ${s.priority}::int,
        job_key_mode => ${s.job_key_mode}
      )`.execute(db)
    return toJob({ ...rows[0], task: s.identifier, queue_name: s.queue_name }, Date.now())
  }

  /** Key-less jobs: one `add_jobs` call (one insert, one NOTIFY) instead of `add_job` per job. */
  async #addBulk(db: Kysely<any>, specs: Prepared[]): Promise<Job[]> {
    const gw = sql.id(this.#schema)
    const { rows } = await sql<PrivateJobRow>`
      select j.* from ${gw}.add_jobs(array(
        select row(
          e.s->>'identifier',
          e.s->'payload',
          e.s->>'queue_name',
          coalesce((e.s->>'run_at')::timestamptz, ${defaultRunAt}),
          (e.s->>'max_attempts')::smallint,
          null,
          (e.s->>'priority')::smallint,
          null
        )::${gw}.job_spec
        from json_array_elements(${JSON.stringify(specs)}::json) with ordinality as e(s, n)
        order by e.n
      )) as j`.execute(db)
    // New rows get ascending ids in the order given.
    rows.sort((a, b) => Number(a.id) - Number(b.id))
    if (rows.length !== specs.length) throw new Error(`add_jobs returned ${rows.length} jobs for ${specs.length}`)
    const now = Date.now()
    return rows.map((r, i) => toJob({ ...r, task: specs[i].identifier, queue_name: specs[i].queue_name }, now))
  }

  async removeJob(jobKey: string): Promise<boolean> {
    const { rows } = await sql<{ id: unknown }>`select (r).id from (select ${sql.id(this.#schema)}.remove_job(${jobKey}) as r) x`.execute(this.#db)
    return rows[0]?.id != null
  }

  // ---- schedules -------------------------------------------------------------------------

  async schedule(name: string, spec: ScheduleSpec<T>): Promise<Schedule> {
    await this.#checker.check(spec.task, spec.payload)
    return this.#scheduler.register(name, spec)
  }

  unschedule(name: string): Promise<boolean> {
    return this.#scheduler.remove(name)
  }

  listSchedules(): Promise<Schedule[]> {
    return this.#scheduler.list()
  }

  // ---- worker ----------------------------------------------------------------------------

  async start(options: StartOptions<T>): Promise<void> {
    if (this.#worker) throw new Error('the queue worker is already started')
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new TypeError('concurrency must be an integer ≥ 1')
    const handlers = options.handlers as Record<string, JobHandler<unknown> | undefined>
    const active = new Map<string, AbortController>()
    const taskList: TaskList = {}
    for (const [task, handler] of Object.entries(handlers)) {
      if (typeof handler !== 'function') continue
      taskList[task] = (payload, helpers) => this.#runJob(active, task, handler, payload, helpers)
    }
    if (Object.keys(taskList).length === 0) throw new TypeError('start() needs at least one handler')

    const pool = new pg.Pool({ connectionString: this.#connectionString, max: this.#maxPoolSize ?? concurrency + 4 })
    // An idle client's error (e.g. the server restarted) must not crash the process.
    const onError = (err: Error) => this.#logger.error({ err: errorMessage(err) }, 'graphile-worker connection error')
    pool.on('error', onError)
    pool.on('connect', (client) => client.on('error', onError))
    let started: Started
    try {
      started = await this.#run(pool, concurrency, taskList)
    } catch (err) {
      await pool.end()
      throw err
    }
    const w: Worker = { runner: started.runner, pool, id: started.id, active, timers: [], heartbeat: undefined, stopping: false, restarting: undefined, cancelBackoff: undefined, restarts: 0 }
    this.#worker = w
    this.#supervise(w, started, concurrency, taskList)
    await this.#reap().catch((err) => this.#logger.error({ err: errorMessage(err) }, 'queue reaper failed'))
    w.heartbeat = setInterval(() => void this.#heartbeat(w).catch((err) => this.#logger.error({ err: errorMessage(err) }, 'queue heartbeat failed')), Math.max(20, Math.floor(this.#leaseMs / 3)))
    w.timers.push(setInterval(() => void this.#reap().catch((err) => this.#logger.error({ err: errorMessage(err) }, 'queue reaper failed')), this.#reapMs))
    if (options.scheduler !== false) this.#scheduler.start()
    this.#logger.debug({ workerId: w.id, concurrency, tasks: Object.keys(taskList) }, 'queue worker started')
  }

  /**
   * Starts a graphile runner on `pool` and registers its pool id. `exitCode` is process.exitCode
   * as it was when graphile last received a `worker:migrate` notification (before graphile sets
   * it to 57), so a false alarm can be undone.
   */
  async #run(pool: pg.Pool, concurrency: number, taskList: TaskList): Promise<Started> {
    const events = new EventEmitter() as WorkerEvents
    let poolId: string | undefined
    const exitCode: { value: typeof process.exitCode } = { value: process.exitCode }
    events.on('pool:create', ({ workerPool }) => {
      poolId = workerPool.id
    })
    // Emitted just before graphile handles the notification (and may set process.exitCode).
    events.on('pool:listen:notification', ({ message }) => {
      if (message.channel === 'worker:migrate') exitCode.value = process.exitCode
    })
    const runner = await run({
      pgPool: pool,
      schema: this.#schema,
      concurrency,
      pollInterval: this.#pollMs,
      noHandleSignals: true,
      taskList,
      parsedCronItems: [],
      logger: this.#graphileLogger(),
      events,
      // We abort jobs ourselves when stop()'s timeout runs out.
      gracefulShutdownAbortTimeout: 2 ** 31 - 1,
      preset: {
        worker: {
          ...(this.#batchResults ? { completeJobBatchDelay: 0, failJobBatchDelay: 0 } : {}),
          ...(this.#localQueueSize && this.#localQueueSize > 1 ? { localQueue: { size: this.#localQueueSize } } : {}),
        },
      },
    })
    try {
      if (!poolId) throw new Error('graphile-worker did not report its pool id')
      await this.#register({ id: poolId })
    } catch (err) {
      await runner.stop().catch(() => {})
      throw err
    }
    return { runner, id: poolId, exitCode }
  }

  /** Watches a runner: if it ends while the worker is not stopping, restarts it (see the header). */
  #supervise(w: Worker, current: Started, concurrency: number, taskList: TaskList): void {
    const startedAt = Date.now()
    const ended = (err?: unknown) => {
      if (err !== undefined) this.#logger.error({ err: errorMessage(err) }, 'graphile-worker runner failed')
      if (w.stopping || this.#worker !== w || w.runner !== current.runner) return
      if (Date.now() - startedAt >= RESTART_RESET_MS) w.restarts = 0
      w.restarting = this.#restart(w, current, concurrency, taskList).finally(() => (w.restarting = undefined))
    }
    current.runner.promise.then(() => ended(), ended)
  }

  async #restart(w: Worker, previous: Started, concurrency: number, taskList: TaskList): Promise<void> {
    // graphile set exit code 57 on a breaking-migration notification: undone here, and set again
    // by migrate() below if our own schema really was migrated by a newer, incompatible graphile.
    if (process.exitCode === 57) process.exitCode = previous.exitCode.value
    this.#logger.warn({ workerId: previous.id, restarts: w.restarts }, 'graphile-worker stopped on its own; checking the queue schema and restarting it')
    await this.#db.deleteFrom('queue_workers').where('id', '=', previous.id).execute().catch(() => {})
    for (;;) {
      const delay = w.restarts === 0 ? 0 : Math.min(RESTART_MAX_DELAY_MS, 250 * 2 ** w.restarts)
      w.restarts++
      if (delay) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay)
          w.cancelBackoff = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        w.cancelBackoff = undefined
      }
      if (w.stopping) return
      try {
        // A schema that is gone (dropped) is not re-installed from here: that would NOTIFY a
        // breaking migration and stop every other worker of the database in turn.
        const { rows } = await sql<{ t: string | null }>`select to_regclass(${`${this.#schema}.migrations`})::text as t`.execute(this.#db)
        if (!rows[0]?.t) throw new Error(`graphile-worker's schema ${this.#schema} is gone`)
        // Throws (and sets exit code 57) if a newer graphile made a breaking migration of our schema.
        await this.migrate()
      } catch (err) {
        if (process.exitCode === 57) {
          this.#logger.error({ err: errorMessage(err) }, 'the queue schema is not compatible with this worker any more; the worker stays stopped')
          return
        }
        this.#logger.error({ err: errorMessage(err) }, 'queue schema check failed; retrying')
        continue
      }
      // Our schema is fine: the breaking migration was another schema's (or there was none).
      if (w.stopping) return
      let next: Started
      try {
        next = await this.#run(w.pool, concurrency, taskList)
      } catch (err) {
        this.#logger.error({ err: errorMessage(err) }, 'could not restart graphile-worker; retrying')
        continue
      }
      w.runner = next.runner
      w.id = next.id
      if (w.stopping) {
        // stop() is waiting for this restart, and stops w.runner (the new one) next.
        return
      }
      this.#supervise(w, next, concurrency, taskList)
      this.#logger.warn({ workerId: w.id }, 'graphile-worker restarted')
      return
    }
  }

  async #runJob(active: Map<string, AbortController>, task: string, handler: JobHandler<unknown>, payload: unknown, helpers: JobHelpers): Promise<void> {
    const gj = helpers.job
    const id = String(gj.id)
    const ac = new AbortController()
    active.set(id, ac)
    try {
      const queueName = gj.job_queue_id != null ? await helpers.getQueueName() : null
      const job = toJob({ ...gj, task, queue_name: queueName }, Date.now())
      const logger = childLogger(this.#logger, { jobId: id, task, attempt: gj.attempts })
      await handler({ job, payload, attempt: gj.attempts, logger, signal: AbortSignal.any([helpers.abortSignal, ac.signal]) })
    } finally {
      active.delete(id)
    }
  }

  async #register(w: { id: string }): Promise<void> {
    await this.#db
      .insertInto('queue_workers')
      .values({ id: w.id, expires_at: sql<number>`${dbNowMs} + ${this.#leaseMs}`, started_at: dbNowMs, info: JSON.stringify({ hostname: hostname(), pid: process.pid }) })
      .onConflict((oc) => oc.column('id').doUpdateSet({ expires_at: sql<number>`${dbNowMs} + ${this.#leaseMs}` }))
      .execute()
  }

  async #heartbeat(w: Worker): Promise<void> {
    const r = await this.#db.updateTable('queue_workers').set({ expires_at: sql<number>`${dbNowMs} + ${this.#leaseMs}` }).where('id', '=', w.id).executeTakeFirst()
    if (Number(r.numUpdatedRows) === 1) return
    // Presumed dead by another worker: our locks were freed and the jobs are running elsewhere.
    if (w.active.size) this.#logger.warn({ workerId: w.id, jobs: [...w.active.keys()] }, 'worker lease lost; aborting running jobs')
    for (const ac of w.active.values()) ac.abort(new Error('the job lease was lost'))
    if (!w.stopping) await this.#register(w)
  }

  /** Frees the locks of workers whose registration expired (or who never registered). */
  async #reap(): Promise<void> {
    const gw = sql.id(this.#schema)
    const freed = await this.#db.transaction().execute(async (trx) => {
      const expired = await trx.deleteFrom('queue_workers').where('expires_at', '<', dbNowMs).returning('id').execute()
      const { rows } = await sql<{ id: string }>`
        select distinct j.locked_by as id from ${gw}.jobs j
        where j.locked_by is not null
          and (j.locked_by = any(${expired.map((e) => e.id)}::text[])
            or (j.locked_at < now() - ${this.#leaseMs} * interval '1 millisecond'
                and not exists (select 1 from queue_workers w where w.id = j.locked_by)))`.execute(trx)
      const ids = rows.map((r) => r.id)
      if (ids.length === 0) return { ids, jobs: 0 }
      const { rows: counted } = await sql<{ n: number }>`select count(*)::int as n from ${gw}.jobs where locked_by = any(${ids}::text[])`.execute(trx)
      await sql`select ${gw}.force_unlock_workers(${ids}::text[])`.execute(trx)
      await sql`select pg_notify('jobs:insert', ${JSON.stringify({ count: counted[0]?.n ?? 1 })})`.execute(trx)
      return { ids, jobs: counted[0]?.n ?? 0 }
    })
    if (freed.ids.length) this.#logger.warn({ workers: freed.ids, jobs: freed.jobs }, 'freed the jobs of workers whose lease expired')
  }

  async stop(options: StopOptions = {}): Promise<void> {
    const w = this.#worker
    if (!w) return
    w.stopping = true
    for (const t of w.timers) clearInterval(t)
    await this.#scheduler.stop()
    w.cancelBackoff?.()
    await w.restarting?.catch(() => {})
    const stopped = w.runner.stop().then(
      () => true,
      (err) => {
        this.#logger.error({ err: errorMessage(err) }, 'graphile-worker did not stop cleanly')
        return true
      },
    )
    let timer: NodeJS.Timeout | undefined
    const finished = await Promise.race([stopped, new Promise<false>((r) => (timer = setTimeout(() => r(false), options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)))])
    clearTimeout(timer)
    clearInterval(w.heartbeat)
    if (this.#worker === w) this.#worker = undefined
    if (finished) {
      await this.#db.deleteFrom('queue_workers').where('id', '=', w.id).execute().catch(() => {})
      await w.pool.end()
      return
    }
    // Give up on the jobs still running: abort them and stop renewing the lease, so other
    // workers re-run them once it expires. The pool closes when they finally return.
    this.#logger.warn({ workerId: w.id, jobs: [...w.active.keys()] }, 'queue worker stopped with jobs still running; their lease will expire and they will run again')
    for (const ac of w.active.values()) ac.abort(new Error('the worker is stopping'))
    this.#background.push(stopped.then(() => w.pool.end()).catch(() => {}))
  }

  async close(options?: StopOptions): Promise<void> {
    await this.stop(options)
  }

  /** Resolves once every worker abandoned by stop() has returned and released its pool. */
  async drained(): Promise<void> {
    await Promise.all(this.#background)
  }

  #graphileLogger(): Logger {
    const log = this.#logger
    return new Logger(() => (level, message, meta) => {
      const l = level as string
      if (l === 'error') (meta && (meta as { failure?: boolean }).failure ? log.warn : log.error).call(log, { source: 'graphile-worker' }, message)
      else if (l === 'warning') log.warn({ source: 'graphile-worker' }, message)
      else if (l === 'info') log.debug({ source: 'graphile-worker' }, message)
    })
  }

  // ---- inspection ------------------------------------------------------------------------

  async stats(): Promise<QueueStats> {
    const { rows } = await sql<QueueStats>`
      select
        count(*) filter (where locked_at is null and attempts < max_attempts and run_at <= now())::int as queued,
        count(*) filter (where locked_at is null and attempts < max_attempts and run_at > now())::int as delayed,
        count(*) filter (where locked_at is not null)::int as running,
        count(*) filter (where locked_at is null and attempts >= max_attempts)::int as failed
      from ${sql.id(this.#schema)}.jobs`.execute(this.#db)
    return rows[0]
  }

  async getJob(id: string): Promise<Job | undefined> {
    if (!/^\d+$/.test(id)) return undefined
    return (await this.#select(sql`j.id = ${id}::bigint`, 1))[0]
  }

  async listJobs(options: ListJobsOptions = {}): Promise<Job[]> {
    const where = [sql`true`]
    if (options.task) where.push(sql`t.identifier = ${options.task}`)
    const state: JobState | undefined = options.state
    if (state === 'queued') where.push(sql`j.locked_at is null and j.attempts < j.max_attempts and j.run_at <= now()`)
    else if (state === 'delayed') where.push(sql`j.locked_at is null and j.attempts < j.max_attempts and j.run_at > now()`)
    else if (state === 'running') where.push(sql`j.locked_at is not null`)
    else if (state === 'failed') where.push(sql`j.locked_at is null and j.attempts >= j.max_attempts`)
    return this.#select(sql.join(where, sql` and `), options.limit ?? 100)
  }

  async #select(where: ReturnType<typeof sql>, limit: number): Promise<Job[]> {
    // The `jobs` view has no payload; read graphile-worker's tables (stable within 0.17).
    const gw = sql.id(this.#schema)
    const { rows } = await sql<PrivateJobRow & { task: string; queue_name: string | null }>`
      select j.id, t.identifier as task, j.payload, q.queue_name, j.priority, j.run_at, j.attempts, j.max_attempts,
             j.last_error, j.created_at, j.key, j.locked_at
      from ${gw}._private_jobs j
      join ${gw}._private_tasks t on t.id = j.task_id
      left join ${gw}._private_job_queues q on q.id = j.job_queue_id
      where ${where}
      order by j.id
      limit ${limit}`.execute(this.#db)
    const now = Date.now()
    return rows.map((r) => toJob(r, now))
  }
}

function toJob(r: (PrivateJobRow | GraphileJob) & { task: string; queue_name: string | null }, now: number): Job {
  const runAt = new Date(r.run_at)
  const state: JobState = r.locked_at != null ? 'running' : r.attempts >= r.max_attempts ? 'failed' : runAt.getTime() > now ? 'delayed' : 'queued'
  return {
    id: String(r.id),
    task: r.task,
    payload: r.payload,
    queueName: r.queue_name,
    priority: r.priority,
    runAt,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    key: r.key,
    lastError: r.last_error,
    createdAt: new Date(r.created_at),
    state,
  }
}

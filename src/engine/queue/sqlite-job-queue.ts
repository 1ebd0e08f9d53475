// The built-in queue: jobs in the app's SQLite database (`queue_jobs`, migration 0004-jobs), run
// in this process. Only one process may own the database file.
//
// - Cycle: one write transaction deletes the rows of jobs that succeeded since the last cycle and
//   claims jobs for the free slots. On SQLite each commit costs more than its statements, so
//   batching both is what makes the queue fast.
// - Claim: reads `status = 'queued'` rows only (no OR on expired locks: that defeated the index)
//   in (priority, runAt, id) order, at most one job per named queue that has none running, then
//   `UPDATE … RETURNING` by id. Claiming sets `locked_by`, a lease (`locked_until`) and counts
//   the attempt.
// - Wake-up: enqueue wakes the worker in-process (no polling delay); delayed jobs set a timer; a
//   1 s safety poll catches anything else. An enqueue inside a caller's transaction also wakes
//   the worker: its claim waits for Kysely's single SQLite connection, i.e. for the commit.
// - Leases: renewed every leaseMs/3 while the job runs; a reaper timer puts jobs whose lease
//   expired (their process died) back to `queued` (or `failed` when out of attempts).
// - A failure sets `queued` with backoff, or `failed` (kept) once `attempts >= max_attempts`.
import { randomBytes } from 'node:crypto'
import { type Kysely, type Selectable, sql } from 'kysely'
import type { DB, QueueJobsTable } from '../../store/tables.js'
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_STOP_TIMEOUT_MS,
  type EnqueueOptions,
  type Job,
  type JobHandlers,
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
  retryDelayMs,
  silentLogger,
} from './job-queue.js'
import { PayloadChecker } from './payload-checker.js'
import { Scheduler } from './scheduler.js'

type Row = Selectable<QueueJobsTable>

export interface SqliteJobQueueOptions<T extends TaskPayloads> extends QueueOptions<T> {
  /** The app's Kysely instance on SQLite (openDatabase(...).db). */
  db: Kysely<DB>
  /** Delay before the retry after failed attempt n (default: e^n seconds, as graphile-worker). */
  retryDelayMs?: (attempt: number) => number
}

export const LEASE_EXPIRED = 'lease expired: the worker stopped renewing it (crashed or stalled)'

interface ActiveJob {
  readonly ac: AbortController
}

interface Worker {
  readonly id: string
  readonly concurrency: number
  readonly handlers: Record<string, ((ctx: any) => unknown) | undefined>
  readonly tasks: string[]
  /** Handlers running now, by job id. */
  readonly active: Map<string, ActiveJob>
  /** Every job not yet settled (handler running, or its result not yet written). */
  readonly inflight: Set<Promise<void>>
  /** Succeeded jobs whose rows the next cycle deletes, with what to call once it did. */
  completed: Array<{ id: number; written: () => void }>
  stopping: boolean
  cycling: Promise<void> | undefined
  again: boolean
  cycleQueued: boolean
  wakeTimer: NodeJS.Timeout | undefined
  wakeAt: number
  timers: NodeJS.Timeout[]
  heartbeat: NodeJS.Timeout | undefined
}

interface Prepared {
  task: string
  payload: string
  queue_name: string | null
  priority: number
  run_at: number
  max_attempts: number
  key: string | null
  mode: NonNullable<EnqueueOptions['jobKeyMode']>
}

export class SqliteJobQueue<T extends TaskPayloads = TaskPayloads> implements JobQueue<T> {
  readonly dialect = 'sqlite' as const
  readonly #db: Kysely<DB>
  readonly #logger: QueueLogger
  readonly #checker: PayloadChecker
  readonly #leaseMs: number
  readonly #reapMs: number
  readonly #pollMs: number
  readonly #retryDelay: (attempt: number) => number
  readonly #scheduler: Scheduler
  #worker: Worker | undefined
  /** False only when no queued job has a queue name: the claim then skips that part. */
  #namedWaiting = true

  constructor(opts: SqliteJobQueueOptions<T>) {
    this.#db = opts.db
    this.#logger = opts.logger ?? silentLogger
    this.#checker = new PayloadChecker(opts.payloadSchemas as Record<string, never>)
    this.#leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS
    this.#reapMs = opts.reapIntervalMs ?? Math.max(50, Math.floor(this.#leaseMs / 2))
    this.#pollMs = opts.pollIntervalMs ?? 1000
    this.#retryDelay = opts.retryDelayMs ?? retryDelayMs
    this.#scheduler = new Scheduler({
      db: this.#db,
      logger: this.#logger,
      pollIntervalMs: this.#pollMs,
      enqueue: (tx, task, payload, o) => this.#enqueueAll([this.#prepare({ task, payload, ...o } as JobSpec<T>)], tx),
    })
  }

  /** The tables come from the app migrations (0004-jobs); this only checks they exist. */
  async migrate(): Promise<void> {
    try {
      await this.#db.selectFrom('queue_jobs').select('id').limit(1).execute()
    } catch (err) {
      throw new Error(`the job queue tables are missing; run the app migrations (0004-jobs) first: ${errorMessage(err)}`)
    }
  }

  // ---- enqueue ---------------------------------------------------------------------------

  async enqueue<K extends keyof T & string>(task: K, payload: T[K], options: EnqueueOptions = {}): Promise<Job<T[K]>> {
    await this.#checker.check(task, payload)
    const { tx, ...o } = options
    const [job] = await this.#enqueueAll([this.#prepare({ ...o, task, payload } as JobSpec<T>)], tx)
    return job as Job<T[K]>
  }

  async enqueueMany(jobs: ReadonlyArray<JobSpec<T>>, options: TransactionOption = {}): Promise<Job[]> {
    if (jobs.length === 0) return []
    for (const j of jobs) await this.#checker.check(j.task, j.payload)
    return this.#enqueueAll(jobs.map((j) => this.#prepare(j)), options.tx)
  }

  #prepare(spec: JobSpec<T>): Prepared {
    const runAt = spec.runAt ? spec.runAt.getTime() : Date.now() + Math.max(0, spec.delayMs ?? 0)
    if (!Number.isFinite(runAt)) throw new TypeError('runAt is not a valid date')
    const maxAttempts = spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    // The same limits as graphile-worker's smallint columns.
    if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1 && maxAttempts <= 32767)) throw new TypeError('maxAttempts must be an integer from 1 to 32767')
    const priority = spec.priority ?? 0
    if (!(Number.isInteger(priority) && priority >= -32768 && priority <= 32767)) throw new TypeError('priority must be an integer from -32768 to 32767')
    return {
      task: spec.task,
      payload: JSON.stringify(spec.payload ?? null),
      queue_name: spec.queueName ?? null,
      priority,
      run_at: runAt,
      max_attempts: maxAttempts,
      key: spec.jobKey ?? null,
      mode: spec.jobKeyMode ?? 'replace',
    }
  }

  async #enqueueAll(items: Prepared[], tx: Kysely<any> | undefined): Promise<Job[]> {
    const write = (db: Kysely<DB>) => this.#write(db, items)
    let rows: Row[]
    if (tx) rows = await write(tx as Kysely<DB>)
    else if (items.length === 1 && items[0].key == null) rows = await write(this.#db)
    else rows = await this.#db.transaction().execute(write)
    // Wake the worker. Inside a caller's transaction the claim queues behind it on the single
    // connection, so it sees the jobs once committed (and nothing after a rollback).
    let earliest = Infinity
    for (const r of rows) {
      if (r.status === 'queued') earliest = Math.min(earliest, Number(r.run_at))
      if (r.queue_name != null) this.#namedWaiting = true
    }
    if (earliest < Infinity) this.#notify(earliest)
    const now = Date.now()
    return rows.map((r) => toJob(r, now))
  }

  async #write(db: Kysely<DB>, items: Prepared[]): Promise<Row[]> {
    const out: Row[] = []
    const now = Date.now()
    let batch: Prepared[] = []
    const flush = async () => {
      // Multi-row inserts of key-less jobs; ids grow in insertion order, so sorting restores it.
      for (let i = 0; i < batch.length; i += 500) {
        const chunk = batch.slice(i, i + 500).map((p) => newRow(p, now))
        const rows = await db.insertInto('queue_jobs').values(chunk).returningAll().execute()
        out.push(...rows.sort((a, b) => Number(a.id) - Number(b.id)))
      }
      batch = []
    }
    for (const p of items) {
      if (p.key == null) {
        batch.push(p)
        continue
      }
      await flush()
      out.push(await this.#writeKeyed(db, p, now))
    }
    await flush()
    return out
  }

  async #writeKeyed(db: Kysely<DB>, p: Prepared, now: number): Promise<Row> {
    const key = p.key as string
    const existing = await db.selectFrom('queue_jobs').selectAll().where('key', '=', key).executeTakeFirst()
    if (!existing) return db.insertInto('queue_jobs').values(newRow(p, now)).returningAll().executeTakeFirstOrThrow()
    if (p.mode === 'dedupe') return existing
    if (existing.status === 'queued') {
      const keepRunAt = p.mode === 'preserve_run_at' && existing.attempts === 0
      return db
        .updateTable('queue_jobs')
        .set({
          task: p.task,
          payload: p.payload,
          queue_name: p.queue_name,
          priority: p.priority,
          max_attempts: p.max_attempts,
          run_at: keepRunAt ? existing.run_at : p.run_at,
          attempts: 0,
          last_error: null,
          updated_at: now,
        })
        .where('id', '=', existing.id)
        .returningAll()
        .executeTakeFirstOrThrow()
    }
    // Running (its world state is out of date: it will not be retried) or failed: new job.
    await db.updateTable('queue_jobs').set({ key: null, attempts: sql<number>`max_attempts`, updated_at: now }).where('id', '=', existing.id).execute()
    return db.insertInto('queue_jobs').values(newRow(p, now)).returningAll().executeTakeFirstOrThrow()
  }

  async removeJob(jobKey: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('queue_jobs').select(['id', 'status']).where('key', '=', jobKey).executeTakeFirst()
      if (!row) return false
      if (row.status === 'running') await trx.updateTable('queue_jobs').set({ key: null, attempts: sql<number>`max_attempts`, updated_at: Date.now() }).where('id', '=', row.id).execute()
      else await trx.deleteFrom('queue_jobs').where('id', '=', row.id).execute()
      return true
    })
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
    const handlers = options.handlers as Worker['handlers']
    const tasks = Object.keys(handlers).filter((t) => typeof handlers[t] === 'function')
    if (tasks.length === 0) throw new TypeError('start() needs at least one handler')
    const w: Worker = {
      id: `sqlite-${process.pid}-${randomBytes(6).toString('hex')}`,
      concurrency,
      handlers,
      tasks,
      active: new Map(),
      inflight: new Set(),
      completed: [],
      stopping: false,
      cycling: undefined,
      again: false,
      cycleQueued: false,
      wakeTimer: undefined,
      wakeAt: Infinity,
      timers: [],
      heartbeat: undefined,
    }
    this.#worker = w
    await this.#reap(w) // leases left by a crashed predecessor that have already expired
    const next = await this.#db
      .selectFrom('queue_jobs')
      .select((eb) => eb.fn.min('run_at').as('next'))
      .where('status', '=', 'queued')
      .where('run_at', '>', Date.now())
      .executeTakeFirst()
    if (next?.next != null) this.#notify(Number(next.next))
    const logged = (what: string) => (err: unknown) => this.#logger.error({ err: errorMessage(err) }, `queue ${what} failed`)
    w.timers.push(
      setInterval(() => {
        this.#namedWaiting = true
        this.#requestCycle(w)
      }, this.#pollMs),
    )
    w.timers.push(setInterval(() => void this.#reap(w).catch(logged('reaper')), this.#reapMs))
    w.heartbeat = setInterval(() => void this.#heartbeat(w).catch(logged('heartbeat')), Math.max(20, Math.floor(this.#leaseMs / 3)))
    if (options.scheduler !== false) this.#scheduler.start()
    this.#requestCycle(w)
    this.#logger.debug({ workerId: w.id, concurrency, tasks }, 'queue worker started')
  }

  async stop(options: StopOptions = {}): Promise<void> {
    const w = this.#worker
    if (!w) return
    w.stopping = true
    clearTimeout(w.wakeTimer)
    for (const t of w.timers) clearInterval(t)
    await this.#scheduler.stop()
    await w.cycling
    const settled = Promise.allSettled([...w.inflight]).then(() => true)
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
    let timer: NodeJS.Timeout | undefined
    const finished = await Promise.race([settled, new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)))])
    clearTimeout(timer)
    if (!finished) {
      for (const a of w.active.values()) a.ac.abort(new Error('the worker is stopping'))
      this.#logger.warn({ workerId: w.id, jobs: [...w.active.keys()] }, 'queue worker stopped with jobs still running; their leases will expire and they will run again')
    }
    clearInterval(w.heartbeat)
    if (this.#worker === w) this.#worker = undefined
  }

  close(options?: StopOptions): Promise<void> {
    return this.stop(options)
  }

  /** A job is due at `runAt` (ms): claim now, or set the wake-up timer. */
  #notify(runAt: number): void {
    const w = this.#worker
    if (!w || w.stopping) return
    const delay = runAt - Date.now()
    if (delay <= 0) return this.#requestCycle(w)
    if (runAt >= w.wakeAt) return
    clearTimeout(w.wakeTimer)
    w.wakeAt = runAt
    w.wakeTimer = setTimeout(() => {
      w.wakeAt = Infinity
      w.wakeTimer = undefined
      this.#requestCycle(w)
    }, Math.min(delay, 2 ** 31 - 1))
  }

  /** Runs a cycle soon; requests made while one runs coalesce into one more. */
  #requestCycle(w: Worker): void {
    if (w.cycling) {
      w.again = true
      return
    }
    if (w.cycleQueued) return
    w.cycleQueued = true
    setImmediate(() => {
      w.cycleQueued = false
      if (w.cycling) return
      w.cycling = this.#cycle(w).finally(() => {
        w.cycling = undefined
        if (w.again) this.#requestCycle(w)
      })
    })
  }

  /**
   * One write transaction: delete the rows of jobs that succeeded since the last cycle and claim
   * jobs for the free slots. Batching both is what makes the queue fast: on SQLite each commit,
   * not each statement, is the cost.
   */
  async #cycle(w: Worker): Promise<void> {
    for (;;) {
      w.again = false
      const completed = w.completed
      w.completed = []
      const free = w.stopping ? 0 : w.concurrency - w.active.size
      if (completed.length === 0 && free <= 0) return
      let rows: Row[] = []
      try {
        rows = await this.#db.transaction().execute(async (trx) => {
          if (completed.length) {
            await trx
              .deleteFrom('queue_jobs')
              .where('locked_by', '=', w.id)
              .where('id', 'in', completed.map((c) => c.id))
              .execute()
          }
          return free > 0 ? this.#claim(trx, w, free) : []
        })
      } catch (err) {
        // Nothing was deleted or claimed: the completed jobs keep their lease (renewed by the
        // heartbeat) and are deleted by the next cycle.
        this.#logger.error({ err: errorMessage(err) }, 'queue cycle failed; retrying at the next poll')
        w.completed.unshift(...completed)
        return
      }
      for (const c of completed) c.written()
      for (const r of rows) this.#run(w, r)
      if (!w.again && rows.length < free) return
    }
  }

  async #claim(db: Kysely<DB>, w: Worker, n: number): Promise<Row[]> {
    const now = Date.now()
    const tasks = sql.join(w.tasks)
    // Candidates: ready jobs without a queue and, while named-queue jobs may be waiting, the first
    // ready job of each named queue that has none running. Only `queued` rows are read (expired
    // leases are the reaper's job).
    const unnamed = sql`
      SELECT id, priority, run_at FROM queue_jobs
      WHERE status = 'queued' AND queue_name IS NULL AND run_at <= ${now} AND task IN (${tasks})
      ORDER BY priority, run_at, id LIMIT ${n}`
    if (this.#namedWaiting) {
      // An index probe: when no named-queue job waits, skip that part of the claim until one is
      // enqueued or re-queued (or the poll comes round).
      const any = await db.selectFrom('queue_jobs').select('id').where('status', '=', 'queued').where('queue_name', 'is not', null).limit(1).executeTakeFirst()
      if (!any) this.#namedWaiting = false
    }
    const { rows: picked } = !this.#namedWaiting
      ? await sql<{ id: number }>`${unnamed}`.execute(db)
      : await sql<{ id: number }>`
      SELECT id FROM (
        SELECT * FROM (${unnamed})
        UNION ALL
        SELECT * FROM (
          SELECT id, priority, run_at FROM (
            SELECT j.id, j.priority, j.run_at,
              row_number() OVER (PARTITION BY j.queue_name ORDER BY j.priority, j.run_at, j.id) AS rn
            FROM queue_jobs j
            WHERE j.status = 'queued' AND j.queue_name IS NOT NULL AND j.run_at <= ${now} AND j.task IN (${tasks})
              AND NOT EXISTS (SELECT 1 FROM queue_jobs r WHERE r.status = 'running' AND r.queue_name = j.queue_name)
          ) WHERE rn = 1
          ORDER BY priority, run_at, id LIMIT ${n}
        )
      )
      ORDER BY priority, run_at, id LIMIT ${n}`.execute(db)
    if (picked.length === 0) return []
    // `+status`: look the rows up by id; an index on status would make SQLite scan every queued row.
    const { rows } = await sql<Row>`
      UPDATE queue_jobs
      SET status = 'running', attempts = attempts + 1, locked_by = ${w.id}, locked_until = ${now + this.#leaseMs}, updated_at = ${now}
      WHERE id IN (${sql.join(picked.map((p) => p.id))}) AND +status = 'queued'
      RETURNING *`.execute(db)
    return rows.sort((a, b) => a.priority - b.priority || Number(a.run_at) - Number(b.run_at) || Number(a.id) - Number(b.id))
  }

  #run(w: Worker, row: Row): void {
    const job = toJob(row, Date.now())
    const handler = w.handlers[row.task]
    const ac = new AbortController()
    const logger = childLogger(this.#logger, { jobId: job.id, task: job.task, attempt: job.attempts })
    w.active.set(job.id, { ac })
    const settled = (async () => {
      let failure: { error: unknown } | undefined
      try {
        if (!handler) throw new Error(`no handler for task "${row.task}"`)
        await handler({ job, payload: job.payload, attempt: job.attempts, logger, signal: ac.signal })
      } catch (error) {
        failure = { error }
      }
      w.active.delete(job.id)
      if (!failure) {
        // Deleted by the next cycle, together with the claim for the freed slot.
        const written = new Promise<void>((resolve) => w.completed.push({ id: row.id, written: resolve }))
        this.#requestCycle(w)
        return written
      }
      try {
        await this.#fail(w, row, failure.error, logger)
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'could not record the job failure; its lease will expire and it will run again')
      }
      this.#requestCycle(w)
    })()
    w.inflight.add(settled)
    void settled.finally(() => w.inflight.delete(settled))
  }

  async #fail(w: Worker, row: Row, error: unknown, logger: QueueLogger): Promise<void> {
    const now = Date.now()
    const message = errorMessage(error)
    const retryAt = now + this.#retryDelay(row.attempts)
    const r = await this.#db
      .updateTable('queue_jobs')
      .set({
        status: sql<'queued' | 'failed'>`CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END`,
        run_at: sql<number>`CASE WHEN attempts >= max_attempts THEN run_at ELSE ${retryAt} END`,
        last_error: message,
        locked_by: null,
        locked_until: null,
        updated_at: now,
      })
      .where('id', '=', row.id)
      .where('locked_by', '=', w.id)
      .returning(['status'])
      .executeTakeFirst()
    if (r?.status === 'failed') logger.error({ err: message }, `job failed permanently after ${row.attempts} attempts`)
    else if (r) {
      if (row.queue_name != null) this.#namedWaiting = true
      logger.warn({ err: message, retryAt: new Date(retryAt).toISOString() }, 'job failed; will retry')
      this.#notify(retryAt)
    }
  }

  async #heartbeat(w: Worker): Promise<void> {
    if (w.inflight.size === 0) return
    const rows = await this.#db
      .updateTable('queue_jobs')
      .set({ locked_until: Date.now() + this.#leaseMs })
      .where('locked_by', '=', w.id)
      .where('status', '=', 'running')
      .returning(['id'])
      .execute()
    const held = new Set(rows.map((r) => String(r.id)))
    for (const [id, a] of w.active) {
      if (held.has(id) || a.ac.signal.aborted) continue
      this.#logger.warn({ jobId: id }, 'job lease lost (expired and reclaimed); aborting this run')
      a.ac.abort(new Error('the job lease was lost'))
    }
  }

  async #reap(w: Worker): Promise<void> {
    const now = Date.now()
    const rows = await this.#db
      .updateTable('queue_jobs')
      .set({
        status: sql<'queued' | 'failed'>`CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END`,
        run_at: sql<number>`CASE WHEN run_at > ${now} THEN run_at ELSE ${now} END`,
        locked_by: null,
        locked_until: null,
        last_error: LEASE_EXPIRED,
        updated_at: now,
      })
      .where('status', '=', 'running')
      .where('locked_until', '<', now)
      .where('locked_by', '<>', w.id)
      .returning(['id', 'status'])
      .execute()
    if (rows.length === 0) return
    this.#namedWaiting = true
    this.#logger.warn({ jobs: rows.map((r) => String(r.id)) }, `re-queued ${rows.length} job(s) whose lease expired`)
    this.#requestCycle(w)
  }

  // ---- inspection ------------------------------------------------------------------------

  async stats(): Promise<QueueStats> {
    const now = Date.now()
    const rows = await this.#db
      .selectFrom('queue_jobs')
      .select([
        'status',
        sql<number>`CASE WHEN status = 'queued' AND run_at > ${now} THEN 1 ELSE 0 END`.as('later'),
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .groupBy(['status', 'later'])
      .execute()
    const s: QueueStats = { queued: 0, delayed: 0, running: 0, failed: 0 }
    for (const r of rows) {
      const key = r.status === 'queued' ? (Number(r.later) ? 'delayed' : 'queued') : r.status
      s[key] += Number(r.n)
    }
    return s
  }

  async getJob(id: string): Promise<Job | undefined> {
    const n = Number(id)
    if (!Number.isSafeInteger(n)) return undefined
    const row = await this.#db.selectFrom('queue_jobs').selectAll().where('id', '=', n).executeTakeFirst()
    return row ? toJob(row, Date.now()) : undefined
  }

  async listJobs(options: ListJobsOptions = {}): Promise<Job[]> {
    const now = Date.now()
    let q = this.#db.selectFrom('queue_jobs').selectAll().orderBy('id').limit(options.limit ?? 100)
    if (options.task) q = q.where('task', '=', options.task)
    const state: JobState | undefined = options.state
    if (state === 'queued') q = q.where('status', '=', 'queued').where('run_at', '<=', now)
    else if (state === 'delayed') q = q.where('status', '=', 'queued').where('run_at', '>', now)
    else if (state) q = q.where('status', '=', state)
    return (await q.execute()).map((r) => toJob(r, now))
  }
}

function newRow(p: Prepared, now: number) {
  return {
    task: p.task,
    payload: p.payload,
    queue_name: p.queue_name,
    priority: p.priority,
    run_at: p.run_at,
    attempts: 0,
    max_attempts: p.max_attempts,
    status: 'queued' as const,
    key: p.key,
    locked_by: null,
    locked_until: null,
    last_error: null,
    created_at: now,
    updated_at: now,
  }
}

function toJob(r: Row, now: number): Job {
  const runAt = Number(r.run_at)
  return {
    id: String(r.id),
    task: r.task,
    payload: JSON.parse(r.payload),
    queueName: r.queue_name,
    priority: r.priority,
    runAt: new Date(runAt),
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    key: r.key,
    lastError: r.last_error,
    createdAt: new Date(Number(r.created_at)),
    state: r.status === 'queued' ? (runAt > now ? 'delayed' : 'queued') : r.status,
  }
}

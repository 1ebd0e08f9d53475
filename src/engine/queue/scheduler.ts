// Recurring schedules for both queues, stored in `queue_schedules` (app database).
//
// Why our own instead of graphile-worker's crontab: schedules here are registered and removed at
// run time by name (a cycle activated with an interval), support second-level intervals and time
// zones, and behave the same on SQLite. graphile's crontab is static per-process configuration.
//
// Firing: every running worker ticks; a due schedule is advanced with a compare-and-set on its
// `next_run_at` and its job is enqueued in the same transaction, so exactly one worker fires each
// due time and a crash between the two cannot lose or double a run. Missed runs (no worker was
// up) are not back-filled: the first tick after the gap fires once, then the schedule continues
// from now. Each run is enqueued with job key `schedule:<name>` (mode `replace`), so a backlog
// collapses into one pending job instead of piling up.
import { Cron } from 'croner'
import type { Kysely, Selectable } from 'kysely'
import type { DB, QueueSchedulesTable } from '../../store/tables.js'
import { type JobOptions, type QueueLogger, type Schedule, errorMessage } from './job-queue.js'

type Row = Selectable<QueueSchedulesTable>

export interface ScheduleInput {
  task: string
  payload: unknown
  cron?: string
  timezone?: string
  everyMs?: number
  startAt?: Date
  maxAttempts?: number
  priority?: number
  queueName?: string
}

export interface SchedulerOptions {
  db: Kysely<DB>
  /** Enqueues one job with the given transaction. */
  enqueue(tx: Kysely<any>, task: string, payload: unknown, options: JobOptions): Promise<unknown>
  logger: QueueLogger
  /** Longest sleep between ticks, so schedules registered by other processes are seen (default 1 s). */
  pollIntervalMs?: number
  now?: () => number
}

export const SCHEDULE_KEY_PREFIX = 'schedule:'

export class Scheduler {
  readonly #db: Kysely<DB>
  readonly #opts: SchedulerOptions
  readonly #now: () => number
  readonly #pollMs: number
  #running = false
  #timer: NodeJS.Timeout | undefined
  #ticking: Promise<void> | undefined
  #again = false

  constructor(opts: SchedulerOptions) {
    this.#db = opts.db
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.#pollMs = opts.pollIntervalMs ?? 1000
  }

  async register(name: string, input: ScheduleInput): Promise<Schedule> {
    if (!name) throw new TypeError('a schedule needs a name')
    if ((input.cron == null) === (input.everyMs == null)) throw new TypeError(`schedule "${name}": give exactly one of cron and everyMs`)
    if (input.everyMs != null && !(Number.isFinite(input.everyMs) && input.everyMs >= 1)) throw new TypeError(`schedule "${name}": everyMs must be a positive number`)
    if (input.cron != null) cronOf(input.cron, input.timezone) // throws on a bad pattern or zone
    const def = {
      task: input.task,
      payload: JSON.stringify(input.payload ?? null),
      cron: input.cron ?? null,
      timezone: input.cron != null ? (input.timezone ?? null) : null,
      every_ms: input.everyMs != null ? Math.round(input.everyMs) : null,
      options: JSON.stringify({ maxAttempts: input.maxAttempts, priority: input.priority, queueName: input.queueName }),
    }
    const existing = await this.#db.selectFrom('queue_schedules').selectAll().where('name', '=', name).executeTakeFirst()
    if (existing && sameDefinition(existing, def)) return toSchedule(existing)
    const now = this.#now()
    const next = input.startAt ? input.startAt.getTime() : firstRun(def, now)
    if (next == null) throw new TypeError(`schedule "${name}": the cron pattern never matches in the future`)
    const row = await this.#db
      .insertInto('queue_schedules')
      .values({ name, ...def, next_run_at: next, last_run_at: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ ...def, next_run_at: next, updated_at: now }))
      .returningAll()
      .executeTakeFirstOrThrow()
    this.wake()
    return toSchedule(row)
  }

  async remove(name: string): Promise<boolean> {
    const r = await this.#db.deleteFrom('queue_schedules').where('name', '=', name).executeTakeFirst()
    return Number(r.numDeletedRows) > 0
  }

  async list(): Promise<Schedule[]> {
    const rows = await this.#db.selectFrom('queue_schedules').selectAll().orderBy('name').execute()
    return rows.map(toSchedule)
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.wake()
  }

  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#ticking
  }

  /** Tick soon (after a registration, or when the timer fires). */
  wake(): void {
    if (!this.#running) return
    if (this.#ticking) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#loop(), 0)
  }

  #loop(): void {
    this.#timer = undefined
    this.#ticking = (async () => {
      let sleep = this.#pollMs
      try {
        do {
          this.#again = false
          await this.tick()
        } while (this.#again && this.#running)
        const next = await this.#db.selectFrom('queue_schedules').select((eb) => eb.fn.min('next_run_at').as('next')).executeTakeFirst()
        if (next?.next != null) sleep = Math.max(0, Math.min(sleep, Number(next.next) - this.#now()))
      } catch (err) {
        this.#opts.logger.error({ err: errorMessage(err) }, 'queue scheduler tick failed')
      } finally {
        this.#ticking = undefined
        if (this.#running) this.#timer = setTimeout(() => this.#loop(), sleep)
      }
    })()
  }

  /** Fires every due schedule once; returns how many this worker fired. */
  async tick(): Promise<number> {
    const now = this.#now()
    const due = await this.#db.selectFrom('queue_schedules').selectAll().where('next_run_at', '<=', now).orderBy('next_run_at').limit(100).execute()
    let fired = 0
    for (const s of due) {
      const dueAt = Number(s.next_run_at)
      let next: number | null
      try {
        next = nextRun(s, dueAt, now)
      } catch (err) {
        this.#opts.logger.error({ schedule: s.name, err: errorMessage(err) }, 'schedule cannot compute its next run; removed')
        next = null
      }
      const ok = await this.#db.transaction().execute(async (trx) => {
        const claimed =
          next == null
            ? await trx.deleteFrom('queue_schedules').where('name', '=', s.name).where('next_run_at', '=', dueAt).executeTakeFirst().then((r) => Number(r.numDeletedRows))
            : await trx
                .updateTable('queue_schedules')
                .set({ next_run_at: next, last_run_at: dueAt, updated_at: now })
                .where('name', '=', s.name)
                .where('next_run_at', '=', dueAt)
                .executeTakeFirst()
                .then((r) => Number(r.numUpdatedRows))
        if (claimed !== 1) return false // another worker fired it
        const o = JSON.parse(s.options) as { maxAttempts?: number; priority?: number; queueName?: string }
        await this.#opts.enqueue(trx, s.task, JSON.parse(s.payload), {
          runAt: new Date(dueAt),
          jobKey: SCHEDULE_KEY_PREFIX + s.name,
          jobKeyMode: 'replace',
          ...(o.maxAttempts != null ? { maxAttempts: o.maxAttempts } : {}),
          ...(o.priority != null ? { priority: o.priority } : {}),
          ...(o.queueName != null ? { queueName: o.queueName } : {}),
        })
        return true
      })
      if (ok) fired++
    }
    return fired
  }
}

function cronOf(pattern: string, timezone?: string | null): Cron {
  return new Cron(pattern, { timezone: timezone ?? 'UTC', paused: true })
}

type Definition = Pick<Row, 'task' | 'payload' | 'cron' | 'timezone' | 'every_ms' | 'options'>

function sameDefinition(row: Row, def: Definition): boolean {
  return row.task === def.task && row.payload === def.payload && row.cron === def.cron && row.timezone === def.timezone && (row.every_ms == null ? null : Number(row.every_ms)) === def.every_ms && row.options === def.options
}

function firstRun(def: Definition, now: number): number | null {
  if (def.cron != null) return cronOf(def.cron, def.timezone).nextRun(new Date(now))?.getTime() ?? null
  return now + Number(def.every_ms)
}

/** The run after `dueAt`, skipping any that are already past (no back-fill). */
export function nextRun(def: Definition, dueAt: number, now: number): number | null {
  if (def.cron != null) return cronOf(def.cron, def.timezone).nextRun(new Date(Math.max(dueAt, now)))?.getTime() ?? null
  const every = Number(def.every_ms)
  const steps = now < dueAt ? 1 : Math.floor((now - dueAt) / every) + 1
  return dueAt + steps * every
}

function toSchedule(r: Row): Schedule {
  return {
    name: r.name,
    task: r.task,
    payload: JSON.parse(r.payload),
    cron: r.cron,
    timezone: r.timezone,
    everyMs: r.every_ms == null ? null : Number(r.every_ms),
    nextRunAt: new Date(Number(r.next_run_at)),
    lastRunAt: r.last_run_at == null ? null : new Date(Number(r.last_run_at)),
  }
}

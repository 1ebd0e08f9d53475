// The body of a `plexus worker` process: open the database, build the handlers, run the queue
// worker until SIGTERM/SIGINT, then stop gracefully (finish running jobs) and close.
//
// On PostgreSQL any number of these processes, on any number of machines, share the work (beside
// `plexus serve`); a job runs once while its lease holds, and the jobs of a crashed process run
// again once its lease expires. On SQLite it works too, but only one process may own the file.
//
//   const worker = await runWorker({
//     databaseUrl: config.databaseUrl,
//     concurrency: 8,
//     handlers: (database) => engineHandlers(new Store(database)),
//   })
//   await worker.done          // resolves after a signal (or worker.stop()) has stopped it
import { type Database, openDatabase } from '../../store/database.js'
import { migrateToLatest } from '../../store/migrations/index.js'
import { createJobQueue } from './create-job-queue.js'
import { DEFAULT_CONCURRENCY, type JobHandlers, type JobQueue, type QueueLogger, type TaskPayloads, errorMessage } from './job-queue.js'

export interface RunWorkerOptions<T extends TaskPayloads> {
  /** `sqlite:<file>` or `postgres://…` (PLEXUS_DATABASE_URL). */
  databaseUrl: string
  /** The handlers, or a factory given the opened database (to build services on it). */
  handlers: JobHandlers<T> | ((database: Database) => JobHandlers<T> | Promise<JobHandlers<T>>)
  /** Jobs run at once by this process (default 4). */
  concurrency?: number
  /** PostgreSQL: the app schema (search_path), as openDatabase's `schema`. */
  schema?: string
  /** PostgreSQL: graphile-worker's schema (default `graphile_worker`). */
  workerSchema?: string
  leaseMs?: number
  reapIntervalMs?: number
  pollIntervalMs?: number
  /** Run the app and queue migrations first (default true; safe with several processes). */
  migrate?: boolean
  /** Stop gracefully on SIGTERM and SIGINT (default true). */
  handleSignals?: boolean
  /** How long a stop waits for running jobs (default 30 s). */
  stopTimeoutMs?: number
  logger?: QueueLogger
}

export interface RunningWorker<T extends TaskPayloads> {
  readonly queue: JobQueue<T>
  readonly database: Database
  /** Stops the worker (waiting for running jobs) and closes the database. Idempotent. */
  stop(): Promise<void>
  /** Resolves once stopped (by stop() or a signal). */
  readonly done: Promise<void>
}

const consoleLogger: QueueLogger = {
  debug() {},
  info() {},
  warn: (o, m) => console.warn(m ?? o, m ? o : ''),
  error: (o, m) => console.error(m ?? o, m ? o : ''),
}

export async function runWorker<T extends TaskPayloads = TaskPayloads>(opts: RunWorkerOptions<T>): Promise<RunningWorker<T>> {
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY
  const logger = opts.logger ?? consoleLogger
  const database = openDatabase(opts.databaseUrl, { ...(opts.schema ? { schema: opts.schema } : {}), poolSize: concurrency + 4 })
  const queue = createJobQueue<T>(database, {
    databaseUrl: opts.databaseUrl,
    logger,
    ...(opts.workerSchema ? { workerSchema: opts.workerSchema } : {}),
    ...(opts.leaseMs != null ? { leaseMs: opts.leaseMs } : {}),
    ...(opts.reapIntervalMs != null ? { reapIntervalMs: opts.reapIntervalMs } : {}),
    ...(opts.pollIntervalMs != null ? { pollIntervalMs: opts.pollIntervalMs } : {}),
  })
  let resolveDone!: () => void
  const done = new Promise<void>((r) => (resolveDone = r))
  let stopping: Promise<void> | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'worker stopping')
    void stop()
  }
  const stop = () =>
    (stopping ??= (async () => {
      if (opts.handleSignals !== false) {
        process.off('SIGTERM', onSignal)
        process.off('SIGINT', onSignal)
      }
      try {
        await queue.close({ timeoutMs: opts.stopTimeoutMs })
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'worker did not stop cleanly')
      }
      await database.close()
      resolveDone()
    })())
  try {
    if (opts.migrate !== false) {
      await migrateToLatest(database.db, database.schema)
      await queue.migrate()
    }
    const handlers = typeof opts.handlers === 'function' ? await opts.handlers(database) : opts.handlers
    await queue.start({ concurrency, handlers })
  } catch (err) {
    await queue.close({ timeoutMs: 0 }).catch(() => {})
    await database.close()
    throw err
  }
  if (opts.handleSignals !== false) {
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  }
  logger.info({ dialect: database.dialect, concurrency }, 'worker started')
  return { queue, database, stop, done }
}

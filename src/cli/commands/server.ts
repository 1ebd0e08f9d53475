// In-process commands: run the server, run a worker, migrate the database. Imported lazily so
// the HTTP commands do not load the whole app.
import type { Command } from 'commander'
import type { Context } from '../context.js'

export const DEFAULT_DATABASE_URL = 'sqlite:./data/plexus.db'

/** The database URL with any password hidden. */
const redactUrl = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')

export function registerServerCommands(program: Command, ctx: (cmd: Command) => Context): void {
  program
    .command('serve')
    .description('Run the API server (PORT, HOST, PLEXUS_DATABASE_URL, PLEXUS_ADMIN_TOKEN, ...)')
    .action(async () => {
      const { serve } = await import('../../main.js')
      await serve()
    })

  program
    .command('worker')
    .description("Run the engine's jobs without the HTTP API: scale-out beside `plexus serve` on PostgreSQL (PLEXUS_DATABASE_URL, PLEXUS_WORKER_CONCURRENCY)")
    .action(async () => {
      const { work } = await import('../../main.js')
      await work()
    })

  program
    .command('migrate')
    .description('Create or upgrade the database schema of PLEXUS_DATABASE_URL')
    .action(async (_opts, cmd: Command) => {
      const { out, io } = ctx(cmd)
      const { openDatabase } = await import('../../store/database.js')
      const { Store } = await import('../../store/store.js')
      const url = io.env.PLEXUS_DATABASE_URL ?? DEFAULT_DATABASE_URL
      const store = new Store(openDatabase(url))
      try {
        await store.migrate()
      } finally {
        await store.close()
      }
      out.result({ migrated: true, database: redactUrl(url) }, () => out.print(`Migrated ${redactUrl(url)} to the latest schema`))
    })
}

// A static migration provider: one ordered list for both dialects.
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely'
import * as m0001 from './0001-foundation.js'
import * as m0002 from './0002-accounts.js'
import * as m0002s from './0002-script-storage.js'
import * as m0004 from './0004-jobs.js'
import * as m0005 from './0005-templates.js'
import * as m0006 from './0006-cycles.js'
import * as m0008 from './0008-webhooks.js'
import * as m0009 from './0009-release-sunset.js'

const migrations: Record<string, Migration> = {
  '0001-foundation': m0001,
  '0002-accounts': m0002,
  '0002-script-storage': m0002s,
  '0004-jobs': m0004,
  '0005-templates': m0005,
  '0006-cycles': m0006,
  '0008-webhooks': m0008,
  '0009-release-sunset': m0009,
}

const provider: MigrationProvider = { getMigrations: async () => migrations }

/**
 * `schema` (PostgreSQL): where Kysely's own migration tables live. Without it Kysely looks for them
 * in every schema of the database, finds another schema's, and then fails to use its own.
 */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? error}`)
  }
}

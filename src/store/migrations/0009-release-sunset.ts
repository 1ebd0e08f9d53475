// Frozen in time: never import application code here, never edit after it has shipped.
// Deprecation sunset (issue 8 §6): a deprecated release may get a sunset date (ISO 8601 text, UTC,
// as `toISOString()` writes it, so text order is time order); after it new installs are refused.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('releases').addColumn('sunset_at', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('releases').dropColumn('sunset_at').execute()
}

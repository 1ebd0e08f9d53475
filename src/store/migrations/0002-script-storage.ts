// Frozen in time: never import application code here, never edit after it has shipped.
// Key/value storage of connector scripts (cyclr_storage_* / cycle_storage_*): one row per key,
// scoped by partner, account connector (an installed connector: one account's credentials) and
// cycle ('' for the connector-wide scope shared by all of the account connector's cycles).
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('script_storage')
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('account_connector_id', 'text', (c) => c.notNull().references('account_connectors.id').onDelete('cascade'))
    .addColumn('cycle_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('key', 'text', (c) => c.notNull())
    // JSON text
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('script_storage_pk', ['partner_id', 'account_connector_id', 'cycle_id', 'key'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('script_storage').ifExists().execute()
}

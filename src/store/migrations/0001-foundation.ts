// Frozen in time: never import application code here, never edit after it has shipped.
import { type Kysely, sql } from 'kysely'
import { binaryType } from './dialect-types.js'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('partners')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('allow_custom_connectors', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('max_custom_connectors', 'integer')
    .addColumn('enable_beta_connectors', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute()
  await db.schema.createIndex('api_keys_partner').on('api_keys').column('partner_id').execute()

  await db.schema
    .createTable('connectors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.references('partners.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('api_version', 'text')
    .addColumn('has_icon', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('connectors_partner').on('connectors').columns(['partner_id', 'id']).execute()

  await db.schema
    .createTable('releases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('partner_id', 'text', (c) => c.references('partners.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('version_major', 'integer')
    .addColumn('version_minor', 'integer')
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('has_icon', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('pushed_at', 'text')
    .addColumn('deprecated_at', 'text')
    .addCheckConstraint('releases_state', sql`state in ('draft', 'live', 'deprecated')`)
    .execute()
  await db.schema.createIndex('releases_connector').on('releases').columns(['connector_id', 'id']).execute()
  // The lifecycle rules "one draft" and "one live" per connector, enforced by the database too,
  // so two concurrent requests cannot both win.
  await db.schema.createIndex('releases_one_draft').on('releases').column('connector_id').unique().where(sql.ref('state'), '=', 'draft').execute()
  await db.schema.createIndex('releases_one_live').on('releases').column('connector_id').unique().where(sql.ref('state'), '=', 'live').execute()
  await db.schema
    .createIndex('releases_version')
    .on('releases')
    .columns(['connector_id', 'version_major', 'version_minor'])
    .unique()
    .where(sql.ref('version_major'), 'is not', null)
    .execute()

  await db.schema
    .createTable('icons')
    .addColumn('owner_id', 'text', (c) => c.primaryKey())
    .addColumn('data', binaryType(db), (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('connector_history')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('partner_id', 'text')
    .addColumn('release_id', 'text')
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('details', 'text')
    .execute()
  await db.schema.createIndex('history_connector').on('connector_history').columns(['connector_id', 'id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['connector_history', 'icons', 'releases', 'connectors', 'api_keys', 'partners']) {
    await db.schema.dropTable(t).ifExists().execute()
  }
}

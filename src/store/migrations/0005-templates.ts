// Frozen in time: never import application code here, never edit after it has shipped.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('templates_partner').on('templates').columns(['partner_id', 'id']).execute()

  // One row per step, so "which steps use connector X on release Y" and a minor push's re-pin are
  // indexed set operations, not scans of JSON.
  await db.schema
    .createTable('template_steps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('template_id', 'text', (c) => c.notNull().references('templates.id').onDelete('cascade'))
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('step_key', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('connector_id', 'text', (c) => c.references('connectors.id'))
    .addColumn('release_id', 'text', (c) => c.references('releases.id'))
    .addColumn('method_id', 'text')
    .addColumn('config', 'text', (c) => c.notNull())
    .addUniqueConstraint('template_steps_key', ['template_id', 'step_key'])
    .execute()
  await db.schema.createIndex('template_steps_template').on('template_steps').columns(['template_id', 'position']).execute()
  await db.schema.createIndex('template_steps_connector').on('template_steps').columns(['connector_id', 'release_id']).execute()
  await db.schema.createIndex('template_steps_release').on('template_steps').column('release_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('template_steps').ifExists().execute()
  await db.schema.dropTable('templates').ifExists().execute()
}

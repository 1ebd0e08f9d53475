// Frozen in time: never import application code here, never edit after it has shipped.
// Webhooks (SPEC §6): each webhook trigger step's unguessable endpoint (with its subscription),
// and every delivery received, kept with its routing outcome.
import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('cycle_id', 'text', (c) => c.notNull().references('cycles.id').onDelete('cascade'))
    .addColumn('step_id', 'text', (c) => c.notNull().references('cycle_steps.id').onDelete('cascade'))
    .addColumn('subscription_id', 'text')
    .addColumn('subscription_expires_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('webhook_endpoints_step', ['step_id'])
    .execute()
  await db.schema.createIndex('webhook_endpoints_cycle').on('webhook_endpoints').column('cycle_id').execute()

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('connector_id', 'text')
    .addColumn('cycle_id', 'text')
    .addColumn('endpoint_id', 'text')
    .addColumn('parent_id', 'text')
    .addColumn('dedupe_key', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('transactions', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('detail', 'text')
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('webhook_deliveries_cycle').on('webhook_deliveries').columns(['cycle_id', 'id']).execute()
  // NULLs are distinct in both dialects: only deliveries with a declared dedupe id collide.
  await db.schema.createIndex('webhook_deliveries_dedupe').unique().on('webhook_deliveries').columns(['partner_id', 'connector_id', 'dedupe_key']).execute()
  await db.schema.createIndex('webhook_deliveries_connector').on('webhook_deliveries').columns(['partner_id', 'connector_id', 'id']).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['webhook_deliveries', 'webhook_endpoints']) await db.schema.dropTable(t).ifExists().execute()
}

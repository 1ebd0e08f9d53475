// Frozen in time: never import application code here, never edit after it has shipped.
// Accounts, account connectors (installed connectors with encrypted credentials), single-use OAuth2
// states, the partner's connector property values, and the partner's OAuth2 return URL.
import { type Kysely, sql } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('partners').addColumn('oauth_return_url', 'text').execute()

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('external_id', 'text')
    .addColumn('timezone', 'text', (c) => c.notNull())
    // A sub-account's parent; deleting a parent with sub-accounts is refused by the service.
    .addColumn('parent_id', 'text', (c) => c.references('accounts.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('accounts_partner').on('accounts').columns(['partner_id', 'id']).execute()
  await db.schema.createIndex('accounts_parent').on('accounts').column('parent_id').execute()
  // externalId is the partner's own id: unique per partner when given.
  await db.schema
    .createIndex('accounts_external_id')
    .on('accounts')
    .columns(['partner_id', 'external_id'])
    .unique()
    .where(sql.ref('external_id'), 'is not', null)
    .execute()

  await db.schema
    .createTable('account_connectors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
    .addColumn('name', 'text')
    .addColumn('auth_id', 'text')
    .addColumn('auth_type', 'text', (c) => c.notNull())
    // AES-256-GCM sealed JSON, bound to the row id (see src/shared/crypto.ts).
    .addColumn('auth_values', 'text')
    .addColumn('properties', 'text', (c) => c.notNull())
    .addColumn('secret_properties', 'text')
    // Masked hints of the sealed values: what responses show.
    .addColumn('hints', 'text', (c) => c.notNull())
    .addColumn('authenticated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('auth_error', 'text')
    .addColumn('authenticated_at', 'text')
    .addColumn('token_expires_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('account_connectors_account').on('account_connectors').columns(['account_id', 'id']).execute()
  await db.schema.createIndex('account_connectors_connector').on('account_connectors').column('connector_id').execute()
  await db.schema.createIndex('account_connectors_partner').on('account_connectors').columns(['partner_id', 'id']).execute()

  await db.schema
    .createTable('oauth_states')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('account_connector_id', 'text', (c) => c.notNull().references('account_connectors.id').onDelete('cascade'))
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute()
  await db.schema.createIndex('oauth_states_expiry').on('oauth_states').column('expires_at').execute()

  await db.schema
    .createTable('partner_connector_properties')
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('properties', 'text', (c) => c.notNull())
    .addColumn('secret_properties', 'text')
    .addColumn('hints', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('partner_connector_properties_pk', ['partner_id', 'connector_id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['partner_connector_properties', 'oauth_states', 'account_connectors', 'accounts']) {
    await db.schema.dropTable(t).ifExists().execute()
  }
  await db.schema.alterTable('partners').dropColumn('oauth_return_url').execute()
}

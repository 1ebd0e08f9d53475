// Account connectors (installed connectors) and their single-use OAuth2 states. Secret columns hold
// sealed text (src/shared/crypto.ts); sealing and opening is the service's job, bound to the row id.
import type { Kysely } from 'kysely'
import type { AccountConnectorsTable, DB } from '../tables.js'
import { Statements } from '../statements.js'

export interface AuthFailure {
  /** The API's status, when it answered. */
  status?: number
  message: string
  /** Which step failed: the test-auth method, the property lookup, a token exchange or refresh. */
  stage: 'testAuth' | 'propertyLookup' | 'tokenExchange' | 'tokenRefresh' | 'authorization' | 'credentials'
  at: string
}

export interface Hints {
  auth: Record<string, string>
  properties: Record<string, string>
  /** OAuth2: which tokens are held. */
  tokens?: { accessToken: boolean; refreshToken: boolean }
}

export interface AccountConnector {
  id: string
  partnerId: string
  accountId: string
  connectorId: string
  releaseId: string
  name: string | null
  authId: string | null
  authType: string
  sealedAuth: string | null
  /** Non-sensitive property values, in clear. */
  properties: Record<string, string>
  sealedProperties: string | null
  hints: Hints
  authenticated: boolean
  authError: AuthFailure | null
  authenticatedAt: string | null
  tokenExpiresAt: string | null
  createdAt: string
  updatedAt: string
}

const toRow = (a: AccountConnector): AccountConnectorsTable => ({
  id: a.id,
  partner_id: a.partnerId,
  account_id: a.accountId,
  connector_id: a.connectorId,
  release_id: a.releaseId,
  name: a.name,
  auth_id: a.authId,
  auth_type: a.authType,
  auth_values: a.sealedAuth,
  properties: JSON.stringify(a.properties),
  secret_properties: a.sealedProperties,
  hints: JSON.stringify(a.hints),
  authenticated: a.authenticated ? 1 : 0,
  auth_error: a.authError ? JSON.stringify(a.authError) : null,
  authenticated_at: a.authenticatedAt,
  token_expires_at: a.tokenExpiresAt,
  created_at: a.createdAt,
  updated_at: a.updatedAt,
})

const toAccountConnector = (r: AccountConnectorsTable): AccountConnector => ({
  id: r.id,
  partnerId: r.partner_id,
  accountId: r.account_id,
  connectorId: r.connector_id,
  releaseId: r.release_id,
  name: r.name,
  authId: r.auth_id,
  authType: r.auth_type,
  sealedAuth: r.auth_values,
  properties: JSON.parse(r.properties) as Record<string, string>,
  sealedProperties: r.secret_properties,
  hints: JSON.parse(r.hints) as Hints,
  authenticated: r.authenticated === 1,
  authError: r.auth_error ? (JSON.parse(r.auth_error) as AuthFailure) : null,
  authenticatedAt: r.authenticated_at,
  tokenExpiresAt: r.token_expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export type AccountConnectorState = Omit<AccountConnector, 'id' | 'partnerId' | 'accountId' | 'connectorId' | 'createdAt'>

export class AccountConnectorsRepo {
  readonly #statements = new Statements()
  constructor(private readonly db: Kysely<DB>) {}

  async insert(a: AccountConnector): Promise<void> {
    await this.db.insertInto('account_connectors').values(toRow(a)).execute()
  }

  /** Scoped by partner and account: another partner's (or account's) id is absent. */
  async get(partnerId: string, accountId: string, id: string): Promise<AccountConnector | undefined> {
    const r = await this.db
      .selectFrom('account_connectors')
      .selectAll()
      .where('id', '=', id)
      .where('partner_id', '=', partnerId)
      .where('account_id', '=', accountId)
      .executeTakeFirst()
    return r && toAccountConnector(r)
  }

  /** By id alone: for the OAuth2 callback, whose state names the partner. */
  async getForPartner(partnerId: string, id: string): Promise<AccountConnector | undefined> {
    // On every engine method call: compiled once.
    const { rows } = await this.#statements.execute(this.db, 'getForPartner', [id, partnerId], (db, v) =>
      db.selectFrom('account_connectors').selectAll().where('id', '=', v[0] as string).where('partner_id', '=', v[1] as string),
    )
    return rows[0] && toAccountConnector(rows[0])
  }

  async list(partnerId: string, accountId: string, opts: { limit: number; after?: string; connectorId?: string }): Promise<AccountConnector[]> {
    let q = this.db.selectFrom('account_connectors').selectAll().where('partner_id', '=', partnerId).where('account_id', '=', accountId)
    if (opts.after) q = q.where('id', '>', opts.after)
    if (opts.connectorId) q = q.where('connector_id', '=', opts.connectorId)
    return (await q.orderBy('id').limit(opts.limit).execute()).map(toAccountConnector)
  }

  /**
   * Writes the mutable state (credentials, properties, auth outcome) of one account connector.
   * With `ifSealedAuth`, only when the stored credentials are still those (compare-and-set: another
   * process that rotated the OAuth2 tokens meanwhile wins); returns whether the row was written.
   */
  async save(a: AccountConnector, opts: { ifSealedAuth?: string | null } = {}): Promise<boolean> {
    const { id: _id, partner_id: _p, account_id: _a, connector_id: _c, created_at: _at, ...values } = toRow(a)
    let q = this.db.updateTable('account_connectors').set(values).where('id', '=', a.id).where('partner_id', '=', a.partnerId)
    if (opts.ifSealedAuth !== undefined) q = opts.ifSealedAuth === null ? q.where('auth_values', 'is', null) : q.where('auth_values', '=', opts.ifSealedAuth)
    const r = await q.executeTakeFirst()
    return Number(r.numUpdatedRows) > 0
  }

  async delete(partnerId: string, accountId: string, id: string): Promise<number> {
    const r = await this.db.deleteFrom('account_connectors').where('id', '=', id).where('partner_id', '=', partnerId).where('account_id', '=', accountId).executeTakeFirst()
    return Number(r.numDeletedRows)
  }

  async countForConnector(partnerId: string | null, connectorId: string): Promise<number> {
    let q = this.db.selectFrom('account_connectors').select((eb) => eb.fn.countAll().as('n')).where('connector_id', '=', connectorId)
    if (partnerId) q = q.where('partner_id', '=', partnerId)
    const r = await q.executeTakeFirstOrThrow()
    return Number(r.n)
  }
}

export interface OAuthState {
  id: string
  partnerId: string
  accountConnectorId: string
  redirectUri: string
  createdAt: string
  expiresAt: string
}

export class OAuthStatesRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(s: OAuthState): Promise<void> {
    await this.db
      .insertInto('oauth_states')
      .values({ id: s.id, partner_id: s.partnerId, account_connector_id: s.accountConnectorId, redirect_uri: s.redirectUri, created_at: s.createdAt, expires_at: s.expiresAt, used_at: null })
      .execute()
  }

  /**
   * Marks the state used and returns it, atomically: of two concurrent callbacks with the same
   * state exactly one gets it. Undefined when unknown, already used or expired.
   */
  async consume(id: string, now: string): Promise<OAuthState | undefined> {
    const r = await this.db.updateTable('oauth_states').set({ used_at: now }).where('id', '=', id).where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst()
    if (Number(r.numUpdatedRows) !== 1) return undefined
    const row = await this.db.selectFrom('oauth_states').selectAll().where('id', '=', id).executeTakeFirst()
    return row && { id: row.id, partnerId: row.partner_id, accountConnectorId: row.account_connector_id, redirectUri: row.redirect_uri, createdAt: row.created_at, expiresAt: row.expires_at }
  }

  /** Drops states that can no longer be used. */
  async sweep(before: string): Promise<void> {
    await this.db.deleteFrom('oauth_states').where('expires_at', '<', before).execute()
  }
}

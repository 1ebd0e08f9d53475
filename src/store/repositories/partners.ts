import type { Kysely } from 'kysely'
import type { DB, PartnersTable } from '../tables.js'

export interface Partner {
  id: string
  name: string
  plan: { allowCustomConnectors: boolean; maxCustomConnectors: number | null }
  enableBetaConnectors: boolean
  createdAt: string
  /** Where the OAuth2 callback sends the user's browser back to (null: a JSON answer instead). */
  oauthReturnUrl?: string | null
}

const toPartner = (r: PartnersTable): Partner => ({
  id: r.id,
  name: r.name,
  plan: { allowCustomConnectors: r.allow_custom_connectors === 1, maxCustomConnectors: r.max_custom_connectors },
  enableBetaConnectors: r.enable_beta_connectors === 1,
  createdAt: r.created_at,
  oauthReturnUrl: r.oauth_return_url ?? null,
})

export class PartnersRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(p: Partner): Promise<void> {
    await this.db
      .insertInto('partners')
      .values({
        id: p.id,
        name: p.name,
        allow_custom_connectors: p.plan.allowCustomConnectors ? 1 : 0,
        max_custom_connectors: p.plan.maxCustomConnectors,
        enable_beta_connectors: p.enableBetaConnectors ? 1 : 0,
        created_at: p.createdAt,
        oauth_return_url: p.oauthReturnUrl ?? null,
      })
      .execute()
  }

  async get(id: string): Promise<Partner | undefined> {
    const r = await this.db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst()
    return r && toPartner(r)
  }

  async list(): Promise<Partner[]> {
    return (await this.db.selectFrom('partners').selectAll().orderBy('id').execute()).map(toPartner)
  }

  async update(id: string, patch: Partial<Pick<Partner, 'name' | 'enableBetaConnectors' | 'oauthReturnUrl'>> & { plan?: Partial<Partner['plan']> }): Promise<void> {
    const values: Partial<PartnersTable> = {}
    if (patch.oauthReturnUrl !== undefined) values.oauth_return_url = patch.oauthReturnUrl
    if (patch.name !== undefined) values.name = patch.name
    if (patch.enableBetaConnectors !== undefined) values.enable_beta_connectors = patch.enableBetaConnectors ? 1 : 0
    if (patch.plan?.allowCustomConnectors !== undefined) values.allow_custom_connectors = patch.plan.allowCustomConnectors ? 1 : 0
    if (patch.plan && 'maxCustomConnectors' in patch.plan) values.max_custom_connectors = patch.plan.maxCustomConnectors ?? null
    if (Object.keys(values).length) await this.db.updateTable('partners').set(values).where('id', '=', id).execute()
  }
}

export interface ApiKeyRow {
  id: string
  partnerId: string
  prefix: string
  createdAt: string
  revokedAt: string | null
}

export class ApiKeysRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(k: ApiKeyRow & { hash: string }): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({ id: k.id, partner_id: k.partnerId, key_hash: k.hash, key_prefix: k.prefix, created_at: k.createdAt, revoked_at: null })
      .execute()
  }

  /** The active key with this hash, joined to its partner in one query (hot path of every request). */
  async findActiveByHash(hash: string): Promise<{ keyId: string; partnerId: string } | undefined> {
    const r = await this.db
      .selectFrom('api_keys')
      .select(['id', 'partner_id'])
      .where('key_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return r && { keyId: r.id, partnerId: r.partner_id }
  }

  async list(partnerId: string): Promise<ApiKeyRow[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('partner_id', '=', partnerId).orderBy('id').execute()
    return rows.map((r) => ({ id: r.id, partnerId: r.partner_id, prefix: r.key_prefix, createdAt: r.created_at, revokedAt: r.revoked_at }))
  }

  async revoke(partnerId: string, id: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('partner_id', '=', partnerId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return Number(res.numUpdatedRows) > 0
  }
}

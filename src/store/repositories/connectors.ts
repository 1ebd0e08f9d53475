import type { Kysely } from 'kysely'
import type { ReleaseListCache } from '../read-cache.js'
import type { ConnectorsTable, DB } from '../tables.js'

export interface Connector {
  id: string
  partnerId: string | null
  name: string
  description: string | null
  apiVersion: string | null
  hasIcon: boolean
  builtIn: boolean
  createdAt: string
  updatedAt: string
}

const toConnector = (r: ConnectorsTable): Connector => ({
  id: r.id,
  partnerId: r.partner_id,
  name: r.name,
  description: r.description,
  apiVersion: r.api_version,
  hasIcon: r.has_icon === 1,
  builtIn: r.partner_id === null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export class ConnectorsRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly releaseLists?: ReleaseListCache,
  ) {}

  async insert(c: Omit<Connector, 'builtIn'>): Promise<void> {
    await this.db
      .insertInto('connectors')
      .values({
        id: c.id,
        partner_id: c.partnerId,
        name: c.name,
        description: c.description,
        api_version: c.apiVersion,
        has_icon: c.hasIcon ? 1 : 0,
        created_at: c.createdAt,
        updated_at: c.updatedAt,
      })
      .execute()
  }

  /** Visible to a partner: its own connectors and the built-in library. Anything else is absent. */
  async getVisible(partnerId: string, id: string): Promise<Connector | undefined> {
    const r = await this.db
      .selectFrom('connectors')
      .selectAll()
      .where('id', '=', id)
      .where((eb) => eb.or([eb('partner_id', '=', partnerId), eb('partner_id', 'is', null)]))
      .executeTakeFirst()
    return r && toConnector(r)
  }

  async listVisible(partnerId: string, opts: { limit: number; after?: string; name?: string }): Promise<Connector[]> {
    let q = this.db
      .selectFrom('connectors')
      .selectAll()
      .where((eb) => eb.or([eb('partner_id', '=', partnerId), eb('partner_id', 'is', null)]))
    if (opts.after) q = q.where('id', '>', opts.after)
    if (opts.name) q = q.where('name', 'like', `%${opts.name.replace(/[%_]/g, '')}%`)
    return (await q.orderBy('id').limit(opts.limit).execute()).map(toConnector)
  }

  async countOwned(partnerId: string): Promise<number> {
    const r = await this.db.selectFrom('connectors').select((eb) => eb.fn.countAll().as('n')).where('partner_id', '=', partnerId).executeTakeFirstOrThrow()
    return Number(r.n)
  }

  async update(partnerId: string, id: string, patch: { name?: string; description?: string | null; apiVersion?: string | null; hasIcon?: boolean; updatedAt: string }): Promise<void> {
    const values: Partial<ConnectorsTable> = { updated_at: patch.updatedAt }
    if (patch.name !== undefined) values.name = patch.name
    if (patch.description !== undefined) values.description = patch.description
    if (patch.apiVersion !== undefined) values.api_version = patch.apiVersion
    if (patch.hasIcon !== undefined) values.has_icon = patch.hasIcon ? 1 : 0
    await this.db.updateTable('connectors').set(values).where('id', '=', id).where('partner_id', '=', partnerId).execute()
  }

  async delete(partnerId: string, id: string): Promise<void> {
    this.releaseLists?.invalidate(id)
    await this.db.deleteFrom('connectors').where('id', '=', id).where('partner_id', '=', partnerId).execute()
  }

  /** Built-in library upsert, used at start-up only. */
  async upsertBuiltIn(c: Omit<Connector, 'builtIn' | 'partnerId'>): Promise<void> {
    await this.db
      .insertInto('connectors')
      .values({
        id: c.id,
        partner_id: null,
        name: c.name,
        description: c.description,
        api_version: c.apiVersion,
        has_icon: c.hasIcon ? 1 : 0,
        created_at: c.createdAt,
        updated_at: c.updatedAt,
      })
      .onConflict((oc) => oc.column('id').doUpdateSet({ name: c.name, description: c.description, api_version: c.apiVersion, has_icon: c.hasIcon ? 1 : 0 }))
      .execute()
  }
}

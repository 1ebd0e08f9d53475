import { type Kysely, sql } from 'kysely'
import type { AccountsTable, DB } from '../tables.js'
import { Statements } from '../statements.js'

export interface Account {
  id: string
  partnerId: string
  name: string
  description: string | null
  externalId: string | null
  timezone: string
  parentId: string | null
  createdAt: string
  updatedAt: string
}

const toAccount = (r: AccountsTable): Account => ({
  id: r.id,
  partnerId: r.partner_id,
  name: r.name,
  description: r.description,
  externalId: r.external_id,
  timezone: r.timezone,
  parentId: r.parent_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export type AccountPatch = Partial<Pick<Account, 'name' | 'description' | 'externalId' | 'timezone' | 'parentId'>> & { updatedAt: string }

/** `%`, `_` and `\` taken literally in a LIKE pattern (escape character `\`). */
const likeLiteral = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

export class AccountsRepo {
  readonly #statements = new Statements()
  constructor(private readonly db: Kysely<DB>) {}

  async insert(a: Account): Promise<void> {
    await this.db
      .insertInto('accounts')
      .values({
        id: a.id,
        partner_id: a.partnerId,
        name: a.name,
        description: a.description,
        external_id: a.externalId,
        timezone: a.timezone,
        parent_id: a.parentId,
        created_at: a.createdAt,
        updated_at: a.updatedAt,
      })
      .execute()
  }

  async get(partnerId: string, id: string): Promise<Account | undefined> {
    // On every engine method call: compiled once.
    const { rows } = await this.#statements.execute(this.db, 'get', [id, partnerId], (db, v) =>
      db.selectFrom('accounts').selectAll().where('id', '=', v[0] as string).where('partner_id', '=', v[1] as string),
    )
    return rows[0] && toAccount(rows[0])
  }

  async getByExternalId(partnerId: string, externalId: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('partner_id', '=', partnerId).where('external_id', '=', externalId).executeTakeFirst()
    return r && toAccount(r)
  }

  /** Keyset-paged by id; `name` is a case-insensitive substring, `externalId` an exact match. */
  async list(partnerId: string, opts: { limit: number; after?: string; name?: string; externalId?: string; parentId?: string }): Promise<Account[]> {
    let q = this.db.selectFrom('accounts').selectAll().where('partner_id', '=', partnerId)
    if (opts.after) q = q.where('id', '>', opts.after)
    if (opts.externalId !== undefined) q = q.where('external_id', '=', opts.externalId)
    if (opts.parentId !== undefined) q = q.where('parent_id', '=', opts.parentId)
    if (opts.name) {
      const pattern = `%${likeLiteral(opts.name.toLowerCase())}%`
      q = q.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`)
    }
    return (await q.orderBy('id').limit(opts.limit).execute()).map(toAccount)
  }

  async update(partnerId: string, id: string, patch: AccountPatch): Promise<void> {
    const values: Partial<AccountsTable> = { updated_at: patch.updatedAt }
    if (patch.name !== undefined) values.name = patch.name
    if (patch.description !== undefined) values.description = patch.description
    if (patch.externalId !== undefined) values.external_id = patch.externalId
    if (patch.timezone !== undefined) values.timezone = patch.timezone
    if (patch.parentId !== undefined) values.parent_id = patch.parentId
    await this.db.updateTable('accounts').set(values).where('id', '=', id).where('partner_id', '=', partnerId).execute()
  }

  async countChildren(partnerId: string, id: string): Promise<number> {
    const r = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).where('partner_id', '=', partnerId).where('parent_id', '=', id).executeTakeFirstOrThrow()
    return Number(r.n)
  }

  /** The chain of ancestors of an account (nearest first), to refuse parent cycles. */
  async ancestors(partnerId: string, id: string, max = 100): Promise<string[]> {
    const out: string[] = []
    let current: string | null = id
    while (current && out.length < max) {
      const r: { parent_id: string | null } | undefined = await this.db.selectFrom('accounts').select('parent_id').where('id', '=', current).where('partner_id', '=', partnerId).executeTakeFirst()
      current = r?.parent_id ?? null
      if (current) out.push(current)
    }
    return out
  }

  async delete(partnerId: string, id: string): Promise<number> {
    const r = await this.db.deleteFrom('accounts').where('id', '=', id).where('partner_id', '=', partnerId).executeTakeFirst()
    return Number(r.numDeletedRows)
  }
}

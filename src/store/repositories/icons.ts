import type { Kysely } from 'kysely'
import type { DB } from '../tables.js'

/** Icon bytes, kept apart from the connector and release rows so listings stay small. */
export class IconsRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async put(ownerId: string, data: Buffer, at: string): Promise<void> {
    await this.db
      .insertInto('icons')
      .values({ owner_id: ownerId, data, created_at: at })
      .onConflict((oc) => oc.column('owner_id').doUpdateSet({ data, created_at: at }))
      .execute()
  }

  async get(ownerId: string): Promise<Buffer | undefined> {
    const r = await this.db.selectFrom('icons').select('data').where('owner_id', '=', ownerId).executeTakeFirst()
    return r ? Buffer.from(r.data) : undefined
  }

  async delete(ownerId: string): Promise<void> {
    await this.db.deleteFrom('icons').where('owner_id', '=', ownerId).execute()
  }
}

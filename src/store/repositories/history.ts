import type { Kysely, Transaction } from 'kysely'
import type { DB } from '../tables.js'

export type HistoryEvent =
  | 'connector_created'
  | 'connector_updated'
  | 'icon_updated'
  | 'draft_created'
  | 'draft_edited'
  | 'draft_deleted'
  | 'pushed_major'
  | 'pushed_minor'
  | 'deprecated'
  | 'repinned'
  | 'upgraded'
  | 'sunset_set'
  | 'sunset_cleared'

export interface HistoryEntry {
  id: string
  connectorId: string
  releaseId: string | null
  event: HistoryEvent
  version: string | null
  actor: string
  at: string
  details: Record<string, unknown> | null
}

export class HistoryRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async record(e: HistoryEntry & { partnerId: string | null }, db: Kysely<DB> | Transaction<DB> = this.db): Promise<void> {
    await db
      .insertInto('connector_history')
      .values({
        id: e.id,
        connector_id: e.connectorId,
        partner_id: e.partnerId,
        release_id: e.releaseId,
        event: e.event,
        version: e.version,
        actor: e.actor,
        at: e.at,
        details: e.details ? JSON.stringify(e.details) : null,
      })
      .execute()
  }

  async list(connectorId: string, opts: { limit: number; after?: string }): Promise<HistoryEntry[]> {
    let q = this.db.selectFrom('connector_history').selectAll().where('connector_id', '=', connectorId)
    if (opts.after) q = q.where('id', '>', opts.after)
    const rows = await q.orderBy('id').limit(opts.limit).execute()
    return rows.map((r) => ({
      id: r.id,
      connectorId: r.connector_id,
      releaseId: r.release_id,
      event: r.event as HistoryEvent,
      version: r.version,
      actor: r.actor,
      at: r.at,
      details: r.details ? JSON.parse(r.details) : null,
    }))
  }
}

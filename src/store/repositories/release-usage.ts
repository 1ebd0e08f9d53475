// Who is still on a release (issue 8 §6): the partner's account connectors, cycle steps and template
// steps pinned to the releases of one connector, counted per release and account. Read-only; every
// query is scoped by partner_id.
import type { Kysely, Transaction } from 'kysely'
import type { DB } from '../tables.js'

type Db = Kysely<DB> | Transaction<DB>

export interface AccountUsageRow {
  releaseId: string
  accountId: string
  accountName: string | null
  externalId: string | null
  accountConnectors: number
  cycles: number
  cycleSteps: number
}

export interface TemplateUsageRow {
  releaseId: string
  templates: number
  templateSteps: number
}

export interface ReleaseUsageRows {
  accounts: AccountUsageRow[]
  templates: TemplateUsageRow[]
  /** cycles on the release, for the per-release listing */
  cycles: Array<{ releaseId: string; cycleId: string; accountId: string; name: string; status: string; steps: number }>
}

/** Usage of the connector's releases (or of one release) by the partner's objects. */
export async function releaseUsageRows(db: Db, partnerId: string, connectorId: string, releaseId?: string): Promise<ReleaseUsageRows> {
  let acs = db
    .selectFrom('account_connectors')
    .select((eb) => ['release_id', 'account_id', eb.fn.countAll<number | string>().as('n')])
    .where('partner_id', '=', partnerId)
    .where('connector_id', '=', connectorId)
  if (releaseId) acs = acs.where('release_id', '=', releaseId)
  const acRows = await acs.groupBy(['release_id', 'account_id']).execute()

  let cs = db
    .selectFrom('cycle_steps as s')
    .innerJoin('cycles as c', 'c.id', 's.cycle_id')
    .select((eb) => ['s.release_id', 'c.account_id', 'c.id as cycle_id', 'c.name', 'c.status', eb.fn.countAll<number | string>().as('n')])
    .where('s.partner_id', '=', partnerId)
    .where('c.partner_id', '=', partnerId)
    .where('s.connector_id', '=', connectorId)
    .where('s.release_id', 'is not', null)
  if (releaseId) cs = cs.where('s.release_id', '=', releaseId)
  const cycleRows = await cs.groupBy(['s.release_id', 'c.account_id', 'c.id', 'c.name', 'c.status']).orderBy('c.id').execute()

  let ts = db
    .selectFrom('template_steps')
    .select((eb) => ['release_id', eb.fn.count<number | string>('template_id').distinct().as('templates'), eb.fn.countAll<number | string>().as('n')])
    .where('partner_id', '=', partnerId)
    .where('connector_id', '=', connectorId)
    .where('release_id', 'is not', null)
  if (releaseId) ts = ts.where('release_id', '=', releaseId)
  const templateRows = await ts.groupBy('release_id').execute()

  const accounts = new Map<string, AccountUsageRow>()
  const entry = (rid: string, aid: string) => {
    const key = `${rid}\u0000${aid}`
    let e = accounts.get(key)
    if (!e) accounts.set(key, (e = { releaseId: rid, accountId: aid, accountName: null, externalId: null, accountConnectors: 0, cycles: 0, cycleSteps: 0 }))
    return e
  }
  for (const r of acRows) entry(r.release_id, r.account_id).accountConnectors += Number(r.n)
  for (const r of cycleRows) {
    const e = entry(r.release_id!, r.account_id)
    e.cycles += 1
    e.cycleSteps += Number(r.n)
  }
  const ids = [...new Set([...accounts.values()].map((a) => a.accountId))]
  if (ids.length) {
    const named = await db.selectFrom('accounts').select(['id', 'name', 'external_id']).where('partner_id', '=', partnerId).where('id', 'in', ids).execute()
    const byId = new Map(named.map((a) => [a.id, a]))
    for (const a of accounts.values()) {
      a.accountName = byId.get(a.accountId)?.name ?? null
      a.externalId = byId.get(a.accountId)?.external_id ?? null
    }
  }
  return {
    accounts: [...accounts.values()].sort((a, b) => a.releaseId.localeCompare(b.releaseId) || a.accountId.localeCompare(b.accountId)),
    templates: templateRows.map((r) => ({ releaseId: r.release_id!, templates: Number(r.templates), templateSteps: Number(r.n) })),
    cycles: cycleRows.map((r) => ({ releaseId: r.release_id!, cycleId: r.cycle_id, accountId: r.account_id, name: r.name, status: r.status, steps: Number(r.n) })),
  }
}

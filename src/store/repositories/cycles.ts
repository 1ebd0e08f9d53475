import type { Kysely, Transaction } from 'kysely'
import type { Step } from '../../engine/templates/template-schema.js'
import type { CycleStepsTable, CyclesTable, DB } from '../tables.js'

export type CycleStatus = CyclesTable['status']

export interface Cycle {
  id: string
  partnerId: string
  accountId: string
  templateId: string | null
  name: string
  status: CycleStatus
  statusReason: string | null
  intervalMinutes: number | null
  startAt: string | null
  runOnce: boolean
  settings: Record<string, unknown>
  activatedAt: string | null
  createdAt: string
  updatedAt: string
}

export type UserValue = string | number | boolean | null

export interface CycleStep extends Step {
  id: string
  position: number
  accountConnectorId: string | null
  /** values of the step's user-configurable fields and parameters, by name */
  userValues: Record<string, UserValue>
  lastSuccessfulRunAt: string | null
}

type Db = Kysely<DB> | Transaction<DB>

const toCycle = (r: CyclesTable): Cycle => ({
  id: r.id,
  partnerId: r.partner_id,
  accountId: r.account_id,
  templateId: r.template_id,
  name: r.name,
  status: r.status,
  statusReason: r.status_reason,
  intervalMinutes: r.interval_minutes,
  startAt: r.start_at,
  runOnce: r.run_once === 1,
  settings: JSON.parse(r.settings),
  activatedAt: r.activated_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

const toStep = (r: CycleStepsTable): CycleStep => ({
  id: r.id,
  position: r.position,
  key: r.step_key,
  type: r.type as Step['type'],
  ...(r.connector_id ? { connector: { connectorId: r.connector_id, releaseId: r.release_id ?? undefined, methodId: r.method_id ?? '' } } : {}),
  ...JSON.parse(r.config),
  accountConnectorId: r.account_connector_id,
  userValues: JSON.parse(r.user_values),
  lastSuccessfulRunAt: r.last_successful_run_at,
})

export class CyclesRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(tx: Db, c: Cycle, steps: CycleStep[]): Promise<void> {
    await tx
      .insertInto('cycles')
      .values({
        id: c.id,
        partner_id: c.partnerId,
        account_id: c.accountId,
        template_id: c.templateId,
        name: c.name,
        status: c.status,
        status_reason: c.statusReason,
        interval_minutes: c.intervalMinutes,
        start_at: c.startAt,
        run_once: c.runOnce ? 1 : 0,
        settings: JSON.stringify(c.settings),
        activated_at: c.activatedAt,
        created_at: c.createdAt,
        updated_at: c.updatedAt,
      })
      .execute()
    if (!steps.length) return
    await tx
      .insertInto('cycle_steps')
      .values(
        steps.map(({ id, position, key, type, connector, accountConnectorId, userValues, lastSuccessfulRunAt, ...config }) => ({
          id,
          cycle_id: c.id,
          partner_id: c.partnerId,
          step_key: key,
          position,
          type,
          connector_id: connector?.connectorId ?? null,
          release_id: connector?.releaseId ?? null,
          method_id: connector?.methodId ?? null,
          account_connector_id: accountConnectorId,
          config: JSON.stringify(config),
          user_values: JSON.stringify(userValues),
          last_successful_run_at: lastSuccessfulRunAt,
        })),
      )
      .execute()
  }

  async get(partnerId: string, id: string, db: Db = this.db): Promise<Cycle | undefined> {
    const r = await db.selectFrom('cycles').selectAll().where('id', '=', id).where('partner_id', '=', partnerId).executeTakeFirst()
    return r && toCycle(r)
  }

  /** Internal (engine): a cycle by id alone; callers hold the id from their own scoped rows. */
  async getById(id: string, db: Db = this.db): Promise<Cycle | undefined> {
    const r = await db.selectFrom('cycles').selectAll().where('id', '=', id).executeTakeFirst()
    return r && toCycle(r)
  }

  async list(partnerId: string, accountId: string, opts: { limit: number; after?: string; status?: CycleStatus }): Promise<Cycle[]> {
    let q = this.db.selectFrom('cycles').selectAll().where('partner_id', '=', partnerId).where('account_id', '=', accountId)
    if (opts.after) q = q.where('id', '>', opts.after)
    if (opts.status) q = q.where('status', '=', opts.status)
    return (await q.orderBy('id').limit(opts.limit).execute()).map(toCycle)
  }

  async steps(cycleId: string, db: Db = this.db): Promise<CycleStep[]> {
    return (await db.selectFrom('cycle_steps').selectAll().where('cycle_id', '=', cycleId).orderBy('position').execute()).map(toStep)
  }

  async update(id: string, patch: Partial<Pick<CyclesTable, 'name' | 'status' | 'status_reason' | 'interval_minutes' | 'start_at' | 'run_once' | 'activated_at'>> & { updated_at: string }, db: Db = this.db): Promise<void> {
    await db.updateTable('cycles').set(patch).where('id', '=', id).execute()
  }

  async setStepValues(stepId: string, values: { userValues?: Record<string, UserValue>; accountConnectorId?: string | null }, db: Db = this.db): Promise<void> {
    const set: Partial<CycleStepsTable> = {}
    if (values.userValues) set.user_values = JSON.stringify(values.userValues)
    if (values.accountConnectorId !== undefined) set.account_connector_id = values.accountConnectorId
    if (Object.keys(set).length) await db.updateTable('cycle_steps').set(set).where('id', '=', stepId).execute()
  }

  async setLastSuccessfulRun(stepId: string, at: string, db: Db = this.db): Promise<void> {
    await db.updateTable('cycle_steps').set({ last_successful_run_at: at }).where('id', '=', stepId).execute()
  }

  async delete(partnerId: string, id: string): Promise<void> {
    await this.db.deleteFrom('cycles').where('id', '=', id).where('partner_id', '=', partnerId).execute()
  }

  /** Cycles whose steps use an account connector (deauthentication pauses them). */
  async cyclesUsingAccountConnector(accountConnectorId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('cycle_steps').select('cycle_id').distinct().where('account_connector_id', '=', accountConnectorId).execute()
    return rows.map((r) => r.cycle_id)
  }

  /** The partner's cycle steps on a connector, with their cycle (impact, bulk upgrades). */
  async stepsUsingConnector(partnerId: string, connectorId: string, db: Db = this.db): Promise<Array<{ cycle: Pick<Cycle, 'id' | 'accountId' | 'name' | 'status'>; step: CycleStep }>> {
    const rows = await db
      .selectFrom('cycle_steps')
      .innerJoin('cycles', 'cycles.id', 'cycle_steps.cycle_id')
      .selectAll('cycle_steps')
      .select(['cycles.account_id as cycle_account_id', 'cycles.name as cycle_name', 'cycles.status as cycle_status'])
      .where('cycle_steps.partner_id', '=', partnerId)
      .where('cycle_steps.connector_id', '=', connectorId)
      .orderBy('cycle_steps.cycle_id')
      .orderBy('cycle_steps.position')
      .execute()
    return rows.map(({ cycle_account_id, cycle_name, cycle_status, ...r }) => ({ cycle: { id: r.cycle_id, accountId: cycle_account_id, name: cycle_name, status: cycle_status }, step: toStep(r) }))
  }

  /** Upgrade (SPEC §7): a step's pin, configuration and user values, in the caller's transaction. */
  async replaceStep(db: Db, step: CycleStep): Promise<void> {
    const { id, position: _p, key: _k, type: _t, connector, accountConnectorId: _a, userValues, lastSuccessfulRunAt: _l, ...config } = step
    await db
      .updateTable('cycle_steps')
      .set({ release_id: connector?.releaseId ?? null, method_id: connector?.methodId ?? null, config: JSON.stringify(config), user_values: JSON.stringify(userValues) })
      .where('id', '=', id)
      .execute()
  }

  /** Minor push (SPEC §1): the partner's steps on `fromReleaseId` move to `toReleaseId`; returns how many. */
  async repinSteps(tx: Db, args: { partnerId: string; connectorId: string; fromReleaseId: string; toReleaseId: string }): Promise<number> {
    const r = await tx
      .updateTable('cycle_steps')
      .set({ release_id: args.toReleaseId })
      .where('partner_id', '=', args.partnerId)
      .where('connector_id', '=', args.connectorId)
      .where('release_id', '=', args.fromReleaseId)
      .executeTakeFirst()
    return Number(r.numUpdatedRows)
  }

  async countStepsUsingConnector(connectorId: string): Promise<number> {
    const r = await this.db.selectFrom('cycle_steps').select((eb) => eb.fn.countAll().as('n')).where('connector_id', '=', connectorId).executeTakeFirstOrThrow()
    return Number(r.n)
  }
}

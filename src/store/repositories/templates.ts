import type { Kysely, Transaction } from 'kysely'
import type { Step, TemplateSettings } from '../../engine/templates/template-schema.js'
import type { DB, TemplateStepsTable } from '../tables.js'

export interface TemplateRow {
  id: string
  partnerId: string
  name: string
  description: string | null
  settings: TemplateSettings
  createdAt: string
  updatedAt: string
}

export interface StoredStep extends Step {
  /** row id of the step, stable while the template's step keeps its key */
  id: string
}

type Db = Kysely<DB> | Transaction<DB>

const toStep = (r: TemplateStepsTable): StoredStep => {
  const config = JSON.parse(r.config) as Omit<Step, 'key' | 'type' | 'connector'>
  return {
    id: r.id,
    key: r.step_key,
    type: r.type as Step['type'],
    ...(r.connector_id ? { connector: { connectorId: r.connector_id, releaseId: r.release_id ?? undefined, methodId: r.method_id ?? '' } } : {}),
    ...config,
  }
}

export class TemplatesRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async get(partnerId: string, id: string, db: Db = this.db): Promise<TemplateRow | undefined> {
    const r = await db.selectFrom('templates').selectAll().where('id', '=', id).where('partner_id', '=', partnerId).executeTakeFirst()
    return r && { id: r.id, partnerId: r.partner_id, name: r.name, description: r.description, settings: JSON.parse(r.settings), createdAt: r.created_at, updatedAt: r.updated_at }
  }

  async list(partnerId: string, opts: { limit: number; after?: string; name?: string }): Promise<TemplateRow[]> {
    let q = this.db.selectFrom('templates').selectAll().where('partner_id', '=', partnerId)
    if (opts.after) q = q.where('id', '>', opts.after)
    if (opts.name) q = q.where('name', 'like', `%${opts.name.replace(/[%_]/g, '')}%`)
    const rows = await q.orderBy('id').limit(opts.limit).execute()
    return rows.map((r) => ({ id: r.id, partnerId: r.partner_id, name: r.name, description: r.description, settings: JSON.parse(r.settings), createdAt: r.created_at, updatedAt: r.updated_at }))
  }

  async steps(templateId: string, db: Db = this.db): Promise<StoredStep[]> {
    const rows = await db.selectFrom('template_steps').selectAll().where('template_id', '=', templateId).orderBy('position').execute()
    return rows.map(toStep)
  }

  async upsert(tx: Db, t: TemplateRow, steps: Array<Step & { id: string }>, isNew: boolean): Promise<void> {
    if (isNew) {
      await tx.insertInto('templates').values({ id: t.id, partner_id: t.partnerId, name: t.name, description: t.description, settings: JSON.stringify(t.settings), created_at: t.createdAt, updated_at: t.updatedAt }).execute()
    } else {
      await tx.updateTable('templates').set({ name: t.name, description: t.description, settings: JSON.stringify(t.settings), updated_at: t.updatedAt }).where('id', '=', t.id).where('partner_id', '=', t.partnerId).execute()
      await tx.deleteFrom('template_steps').where('template_id', '=', t.id).execute()
    }
    if (steps.length === 0) return
    await tx
      .insertInto('template_steps')
      .values(
        steps.map(({ id, key, type, connector, ...config }, position) => ({
          id,
          template_id: t.id,
          partner_id: t.partnerId,
          step_key: key,
          position,
          type,
          connector_id: connector?.connectorId ?? null,
          release_id: connector?.releaseId ?? null,
          method_id: connector?.methodId ?? null,
          config: JSON.stringify(config),
        })),
      )
      .execute()
  }

  async delete(partnerId: string, id: string): Promise<void> {
    await this.db.deleteFrom('templates').where('id', '=', id).where('partner_id', '=', partnerId).execute()
  }

  /** The partner's template steps on a connector, with their template (impact, bulk upgrades). */
  async stepsUsingConnector(partnerId: string, connectorId: string, db: Db = this.db): Promise<Array<{ templateId: string; templateName: string; step: StoredStep }>> {
    const rows = await db
      .selectFrom('template_steps')
      .innerJoin('templates', 'templates.id', 'template_steps.template_id')
      .selectAll('template_steps')
      .select('templates.name as template_name')
      .where('template_steps.partner_id', '=', partnerId)
      .where('template_steps.connector_id', '=', connectorId)
      .orderBy('template_steps.template_id')
      .orderBy('template_steps.position')
      .execute()
    return rows.map(({ template_name, ...r }) => ({ templateId: r.template_id, templateName: template_name, step: toStep(r) }))
  }

  /** Minor push (SPEC §1): the partner's steps on `fromReleaseId` move to `toReleaseId`; returns how many. */
  async repinSteps(tx: Db, args: { partnerId: string; connectorId: string; fromReleaseId: string; toReleaseId: string }): Promise<number> {
    const r = await tx
      .updateTable('template_steps')
      .set({ release_id: args.toReleaseId })
      .where('partner_id', '=', args.partnerId)
      .where('connector_id', '=', args.connectorId)
      .where('release_id', '=', args.fromReleaseId)
      .executeTakeFirst()
    return Number(r.numUpdatedRows)
  }

  async countStepsUsingConnector(connectorId: string): Promise<number> {
    const r = await this.db.selectFrom('template_steps').select((eb) => eb.fn.countAll().as('n')).where('connector_id', '=', connectorId).executeTakeFirstOrThrow()
    return Number(r.n)
  }
}

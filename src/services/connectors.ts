// Connector settings (seed "Connector Settings"): private to the partner that made them; the
// built-in library is visible to all and changeable by none.
import { checkIcon } from '../domain/icon.js'
import { assertPlanAllowsConnector } from '../domain/lifecycle.js'
import { fail, notFound } from '../errors/errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Connector } from '../store/repositories/connectors.js'
import type { Store } from '../store/store.js'
import type { Principal } from './partners.js'

export interface ConnectorInput {
  name: string
  description?: string | null
  apiVersion?: string | null
}

export class ConnectorService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async get(partnerId: string, id: string): Promise<Connector> {
    const c = await this.store.connectors.getVisible(partnerId, id)
    if (!c) throw notFound('connector', id)
    return c
  }

  /** For changes: the connector must be the partner's own. Library connectors are read-only. */
  async getOwned(partnerId: string, id: string): Promise<Connector> {
    const c = await this.get(partnerId, id)
    if (c.builtIn) throw fail('READ_ONLY', `connector ${id} is a built-in library connector and cannot be changed`)
    return c
  }

  list(partnerId: string, opts: { limit: number; after?: string; name?: string }) {
    return this.store.connectors.listVisible(partnerId, opts)
  }

  async create(actor: Principal, input: ConnectorInput): Promise<Connector> {
    const partner = await this.store.partners.get(actor.partnerId)
    if (!partner) throw notFound('partner', actor.partnerId)
    assertPlanAllowsConnector(partner.plan, await this.store.connectors.countOwned(actor.partnerId))
    const at = this.clock.now().toISOString()
    const c = {
      id: newId('con'),
      partnerId: actor.partnerId,
      name: input.name,
      description: input.description ?? null,
      apiVersion: input.apiVersion ?? null,
      hasIcon: false,
      createdAt: at,
      updatedAt: at,
    }
    await this.store.db.transaction().execute(async (tx) => {
      await tx.insertInto('connectors').values({ id: c.id, partner_id: c.partnerId, name: c.name, description: c.description, api_version: c.apiVersion, has_icon: 0, created_at: at, updated_at: at }).execute()
      await this.store.history.record({ id: newId('hst'), connectorId: c.id, partnerId: actor.partnerId, releaseId: null, event: 'connector_created', version: null, actor: actor.keyId, at, details: { name: c.name } }, tx)
    })
    return { ...c, builtIn: false }
  }

  async update(actor: Principal, id: string, patch: Partial<ConnectorInput>): Promise<Connector> {
    await this.getOwned(actor.partnerId, id)
    const at = this.clock.now().toISOString()
    await this.store.connectors.update(actor.partnerId, id, { ...patch, updatedAt: at })
    await this.store.history.record({ id: newId('hst'), connectorId: id, partnerId: actor.partnerId, releaseId: null, event: 'connector_updated', version: null, actor: actor.keyId, at, details: { changed: Object.keys(patch) } })
    return this.get(actor.partnerId, id)
  }

  async delete(actor: Principal, id: string): Promise<void> {
    await this.getOwned(actor.partnerId, id)
    const steps = await this.store.templates.countStepsUsingConnector(id)
    if (steps > 0) throw fail('CONNECTOR_IN_USE', `connector ${id} is used by ${steps} template step${steps === 1 ? '' : 's'}; remove those steps first`, { templateSteps: steps })
    const cycleSteps = await this.store.cycles.countStepsUsingConnector(id)
    if (cycleSteps > 0) throw fail('CONNECTOR_IN_USE', `connector ${id} is used by ${cycleSteps} cycle step${cycleSteps === 1 ? '' : 's'}; delete those cycles first`, { cycleSteps })
    const installed = await this.store.accountConnectors.countForConnector(actor.partnerId, id)
    if (installed > 0) {
      throw fail('CONNECTOR_IN_USE', `connector ${id} is installed in ${installed} account${installed === 1 ? '' : 's'}; remove those account connectors first`, { accountConnectors: installed })
    }
    await this.store.icons.delete(id)
    await this.store.connectors.delete(actor.partnerId, id)
  }

  async putIcon(actor: Principal, id: string, data: Buffer): Promise<void> {
    await this.getOwned(actor.partnerId, id)
    const check = checkIcon(data)
    if (!check.ok) throw fail('INVALID_ICON', check.message)
    const at = this.clock.now().toISOString()
    await this.store.icons.put(id, data, at)
    await this.store.connectors.update(actor.partnerId, id, { hasIcon: true, updatedAt: at })
    await this.store.history.record({ id: newId('hst'), connectorId: id, partnerId: actor.partnerId, releaseId: null, event: 'icon_updated', version: null, actor: actor.keyId, at, details: { bytes: data.length } })
  }

  async getIcon(partnerId: string, id: string): Promise<Buffer> {
    await this.get(partnerId, id)
    const data = await this.store.icons.get(id)
    if (!data) throw notFound('icon of connector', id)
    return data
  }

  history(partnerId: string, id: string, opts: { limit: number; after?: string }) {
    return this.get(partnerId, id).then(() => this.store.history.list(id, opts))
  }
}

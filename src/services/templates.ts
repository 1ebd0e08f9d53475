// Templates (SPEC §5): ordered steps pinned to connector releases, validated as a whole on save.
import type { ConnectorDefinition } from '../definition/schema.js'
import { checkTemplate, type PinnedRelease } from '../domain/template-rules.js'
import type { Step, TemplateInput } from '../engine/templates/template-schema.js'
import { fail, notFound } from '../errors/errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { StoredStep, TemplateRow } from '../store/repositories/templates.js'
import type { Store } from '../store/store.js'
import type { Principal } from './partners.js'
import { stepReleaseInfo, type StepReleaseInfo } from './step-updates.js'

export interface TemplateView extends Omit<TemplateRow, 'partnerId'> {
  steps: Array<StoredStep & StepReleaseInfo>
}

export class TemplateService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Pins each connector step to a pushed release the partner can use: the given one, else live. */
  async resolvePins(partnerId: string, steps: readonly Step[]): Promise<{ steps: Step[]; pins: Array<PinnedRelease | undefined> }> {
    const pins: Array<PinnedRelease | undefined> = []
    const resolved: Step[] = []
    const cache = new Map<string, PinnedRelease | undefined>()
    for (const step of steps) {
      if (!step.connector) {
        pins.push(undefined)
        resolved.push(step)
        continue
      }
      const { connectorId, releaseId } = step.connector
      const cacheKey = `${connectorId}/${releaseId ?? 'live'}`
      if (!cache.has(cacheKey)) {
        const connector = await this.store.connectors.getVisible(partnerId, connectorId)
        const release = connector && (releaseId ? await this.store.releases.get(connectorId, releaseId) : await this.store.releases.getByState(connectorId, 'live'))
        cache.set(cacheKey, release && release.state !== 'draft' ? { releaseId: release.id, connectorId, definition: release.definition as ConnectorDefinition } : undefined)
      }
      const pin = cache.get(cacheKey)
      pins.push(pin)
      resolved.push(pin ? { ...step, connector: { ...step.connector, releaseId: pin.releaseId } } : step)
    }
    return { steps: resolved, pins }
  }

  async save(actor: Principal, input: TemplateInput, templateId?: string): Promise<TemplateView> {
    const existing = templateId ? await this.store.templates.get(actor.partnerId, templateId) : undefined
    if (templateId && !existing) throw notFound('template', templateId)
    const { steps, pins } = await this.resolvePins(actor.partnerId, input.steps)
    const problems = checkTemplate({ ...input, steps }, pins)
    if (problems.length) throw fail('VALIDATION_FAILED', `the template has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems)

    const at = this.clock.now().toISOString()
    const row: TemplateRow = {
      id: existing?.id ?? newId('tpl'),
      partnerId: actor.partnerId,
      name: input.name,
      description: input.description ?? null,
      settings: input.settings ?? {},
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    }
    const previous = existing ? new Map((await this.store.templates.steps(existing.id)).map((s) => [s.key, s.id])) : new Map<string, string>()
    const withIds = steps.map((s) => ({ ...s, id: previous.get(s.key) ?? newId('tst') }))
    await this.store.db.transaction().execute((tx) => this.store.templates.upsert(tx, row, withIds, !existing))
    return this.get(actor.partnerId, row.id)
  }

  async get(partnerId: string, id: string): Promise<TemplateView> {
    const t = await this.store.templates.get(partnerId, id)
    if (!t) throw notFound('template', id)
    const steps = await this.store.templates.steps(id)
    const info = await stepReleaseInfo(this.store, steps)
    const { partnerId: _p, ...view } = t
    return { ...view, steps: steps.map((s, i) => ({ ...s, ...info[i] })) }
  }

  list(partnerId: string, opts: { limit: number; after?: string; name?: string }) {
    return this.store.templates.list(partnerId, opts)
  }

  async delete(partnerId: string, id: string): Promise<void> {
    const t = await this.store.templates.get(partnerId, id)
    if (!t) throw notFound('template', id)
    await this.store.templates.delete(partnerId, id)
  }
}

// Releases and their lifecycle (SPEC §1): draft → live → deprecated; push major/minor.
// The rules live in domain/ and definition/; this service loads, decides and persists.
import { checkDefinitionShape, checkReleaseForPush, checkSettingsShape } from '../definition/validate.js'
import type { ConnectorDefinition, ReleaseSettings } from '../definition/schema.js'
import { checkReleaseScripts, type ScriptChecker } from '../definition/script-check.js'
import { diffReleases } from '../domain/diff.js'
import { checkIcon } from '../domain/icon.js'
import { assertDraft, assertNoDraft, formatVersion, nextVersion, type PushKind } from '../domain/lifecycle.js'
import { lintRelease } from '../domain/lint.js'
import { fail, notFound } from '../errors/errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Release } from '../store/repositories/releases.js'
import type { Store } from '../store/store.js'
import type { ConnectorService } from './connectors.js'
import type { Principal } from './partners.js'
import { checkSunset, sunsetStatus } from '../domain/lifecycle.js'
import { connectorUsage, releaseUsage, type UsageCounts } from './release-sunset.js'

export interface DraftInput {
  from?: string
  settings?: unknown
  definition?: unknown
}

export interface ReleaseView extends Omit<Release, 'version'> {
  version: string | null
}

export const viewRelease = <T extends { version: Release['version'] }>(r: T): Omit<T, 'version'> & { version: string | null } => ({
  ...r,
  version: formatVersion(r.version),
})

const defaultSettings = (): ReleaseSettings => ({ status: 'Unknown' })

export class ReleaseService {
  constructor(
    private readonly store: Store,
    private readonly connectors: ConnectorService,
    private readonly clock: Clock,
    /** Compiles a script without running it (push-time validation); absent: scripts are not checked. */
    private readonly checkScript?: ScriptChecker,
  ) {}

  async list(partnerId: string, connectorId: string) {
    const releases = await this.store.releases.listVisible(partnerId, connectorId)
    if (!releases) throw notFound('connector', connectorId)
    return releases
  }

  async get(partnerId: string, connectorId: string, releaseId: string): Promise<Release> {
    await this.connectors.get(partnerId, connectorId)
    return this.load(connectorId, releaseId)
  }

  private async load(connectorId: string, releaseId: string): Promise<Release> {
    const r = releaseId === 'live' ? await this.store.releases.getByState(connectorId, 'live') : await this.store.releases.get(connectorId, releaseId)
    if (!r) throw notFound('release', releaseId)
    return r
  }

  /** Shape problems refuse a save (400); incomplete-but-well-formed drafts are fine until push. */
  private assertWellFormed(settings: unknown, definition: unknown): void {
    const problems = [...checkSettingsShape(settings), ...checkDefinitionShape(definition)]
    if (problems.length) {
      throw fail('INVALID_DEFINITION', `the release is not well-formed: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems)
    }
  }

  async createDraft(actor: Principal, connectorId: string, input: DraftInput, origin = 'empty'): Promise<Release> {
    await this.connectors.getOwned(actor.partnerId, connectorId)
    let base: { settings: ReleaseSettings; definition: ConnectorDefinition } = { settings: defaultSettings(), definition: {} }
    if (input.from) {
      const source = await this.load(connectorId, input.from)
      base = { settings: structuredClone(source.settings), definition: structuredClone(source.definition) }
      origin = input.from === 'live' ? `copy of live ${formatVersion(source.version)}` : `copy of ${source.id}`
    }
    const settings = (input.settings ?? base.settings) as ReleaseSettings
    const definition = (input.definition ?? base.definition) as ConnectorDefinition
    this.assertWellFormed(settings, definition)
    const draft = await this.store.releases.getByState(connectorId, 'draft')
    assertNoDraft(draft?.id ?? null)

    const at = this.clock.now().toISOString()
    const release: Release = {
      id: newId('rel'),
      connectorId,
      partnerId: actor.partnerId,
      state: 'draft',
      version: null,
      settings: { status: 'Unknown', ...settings },
      definition,
      hasIcon: false,
      createdAt: at,
      updatedAt: at,
      pushedAt: null,
      deprecatedAt: null,
    }
    try {
      await this.store.db.transaction().execute(async (tx) => {
        await this.store.releases.insert(release, tx)
        await this.store.history.record({ id: newId('hst'), connectorId, partnerId: actor.partnerId, releaseId: release.id, event: 'draft_created', version: null, actor: actor.keyId, at, details: { origin } }, tx)
      })
    } catch (err) {
      // The partial unique index settles a race between two concurrent creates.
      if (/unique|duplicate/i.test(String((err as Error).message))) assertNoDraft('(created concurrently)')
      throw err
    }
    return release
  }

  async updateDraft(actor: Principal, connectorId: string, releaseId: string, input: { settings?: unknown; definition?: unknown }): Promise<Release> {
    await this.connectors.getOwned(actor.partnerId, connectorId)
    const r = await this.load(connectorId, releaseId)
    assertDraft(r, 'edited')
    const settings = (input.settings ?? r.settings) as ReleaseSettings
    const definition = (input.definition ?? r.definition) as ConnectorDefinition
    this.assertWellFormed(settings, definition)
    const at = this.clock.now().toISOString()
    await this.store.releases.updateDraft(connectorId, r.id, { settings: { status: 'Unknown', ...settings }, definition, updatedAt: at })
    await this.store.history.record({ id: newId('hst'), connectorId, partnerId: actor.partnerId, releaseId: r.id, event: 'draft_edited', version: null, actor: actor.keyId, at, details: { changed: Object.keys(input) } })
    return this.load(connectorId, r.id)
  }

  async deleteDraft(actor: Principal, connectorId: string, releaseId: string): Promise<void> {
    await this.connectors.getOwned(actor.partnerId, connectorId)
    const r = await this.load(connectorId, releaseId)
    assertDraft(r, 'deleted')
    const at = this.clock.now().toISOString()
    await this.store.releases.deleteDraft(connectorId, r.id)
    await this.store.icons.delete(r.id)
    await this.store.history.record({ id: newId('hst'), connectorId, partnerId: actor.partnerId, releaseId: r.id, event: 'draft_deleted', version: null, actor: actor.keyId, at, details: null })
  }

  async putIcon(actor: Principal, connectorId: string, releaseId: string, data: Buffer): Promise<void> {
    await this.connectors.getOwned(actor.partnerId, connectorId)
    const r = await this.load(connectorId, releaseId)
    assertDraft(r, 'edited')
    const check = checkIcon(data)
    if (!check.ok) throw fail('INVALID_ICON', check.message)
    const at = this.clock.now().toISOString()
    await this.store.icons.put(r.id, data, at)
    await this.store.releases.updateDraft(connectorId, r.id, { hasIcon: true, updatedAt: at })
  }

  async getIcon(partnerId: string, connectorId: string, releaseId: string): Promise<Buffer> {
    const r = await this.get(partnerId, connectorId, releaseId)
    const data = (r.hasIcon && (await this.store.icons.get(r.id))) || undefined
    if (!data) throw notFound('icon of release', releaseId)
    return data
  }

  async lint(partnerId: string, connectorId: string, releaseId: string) {
    const connector = await this.connectors.get(partnerId, connectorId)
    const r = await this.load(connectorId, releaseId)
    return lintRelease({
      connector: { name: connector.name, description: connector.description, apiVersion: connector.apiVersion, icon: { present: connector.hasIcon } },
      release: { settings: r.settings, definition: r.definition, icon: { present: r.hasIcon } },
    })
  }

  async diff(partnerId: string, connectorId: string, releaseId: string, against = 'live') {
    await this.connectors.get(partnerId, connectorId)
    const head = await this.load(connectorId, releaseId)
    const base = await this.store.releases[against === 'live' ? 'getByState' : 'get'](connectorId, against as never)
    if (!base) throw against === 'live' ? fail('NO_LIVE_RELEASE', 'the connector has no live release to diff against') : notFound('release', against)
    const diff = diffReleases({ settings: base.settings, definition: base.definition }, { settings: head.settings, definition: head.definition })
    return { base: { id: base.id, version: formatVersion(base.version) }, head: { id: head.id, version: formatVersion(head.version) }, ...diff }
  }

  async push(actor: Principal, connectorId: string, releaseId: string, input: { kind: PushKind; force?: boolean }): Promise<Release> {
    await this.connectors.getOwned(actor.partnerId, connectorId)
    const draft = await this.load(connectorId, releaseId)
    assertDraft(draft, 'pushed')
    const problems = checkReleaseForPush({ settings: draft.settings, definition: draft.definition })
    // Scripts are compiled only at push: drafts may hold scripts that are not finished yet.
    if (this.checkScript) problems.push(...(await checkReleaseScripts(draft.definition, this.checkScript)))
    if (problems.length) {
      throw fail('VALIDATION_FAILED', `the release cannot be pushed: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems)
    }
    const live = await this.store.releases.getByState(connectorId, 'live')
    if (live && input.kind === 'minor') {
      const diff = diffReleases({ settings: live.settings, definition: live.definition }, { settings: draft.settings, definition: draft.definition })
      const breaking = diff.changes.filter((c) => c.breaking)
      if (breaking.length && !input.force) {
        throw fail(
          'BREAKING_MINOR',
          `a minor release must not change existing methods; ${breaking.length} breaking change${breaking.length === 1 ? '' : 's'}: ${breaking.map((c) => c.message).join('; ')}. Push as major, or pass force: true`,
          breaking,
        )
      }
    }
    const version = nextVersion(live?.version ?? null, input.kind)
    const at = this.clock.now().toISOString()
    const event = !live || input.kind === 'major' ? 'pushed_major' : 'pushed_minor'
    await this.store.db.transaction().execute(async (tx) => {
      const moved = await this.store.releases.promote(tx, { connectorId, draftId: draft.id, previousLiveId: live?.id ?? null, version, at })
      if (moved !== 1) throw fail('RELEASE_NOT_DRAFT', `release ${draft.id} was pushed concurrently`)
      await this.store.history.record({ id: newId('hst'), connectorId, partnerId: actor.partnerId, releaseId: draft.id, event, version: formatVersion(version), actor: actor.keyId, at, details: { kind: input.kind, forced: !!input.force } }, tx)
      if (live) {
        await this.store.history.record({ id: newId('hst'), connectorId, partnerId: actor.partnerId, releaseId: live.id, event: 'deprecated', version: formatVersion(live.version), actor: actor.keyId, at, details: { replacedBy: formatVersion(version) } }, tx)
      }
      if (live && event === 'pushed_minor') {
        // SPEC §1: a minor push re-pins every step on the previous live release, in this transaction.
        // Only the pushing partner's own steps: a partner can pin only its own (or library) connectors.
        // Recorded in the history when something moved.
        const pin = { partnerId: actor.partnerId, connectorId, fromReleaseId: live.id, toReleaseId: draft.id }
        const templateSteps = await this.store.templates.repinSteps(tx, pin)
        const cycleSteps = await this.store.cycles.repinSteps(tx, pin)
        if (templateSteps + cycleSteps > 0) await this.store.history.record({ id: newId('hst'), connectorId, partnerId: actor.partnerId, releaseId: draft.id, event: 'repinned', version: formatVersion(version), actor: actor.keyId, at, details: { from: { id: live.id, version: formatVersion(live.version) }, to: { id: draft.id, version: formatVersion(version) }, templateSteps, cycleSteps } }, tx)
      }
    })
    return this.load(connectorId, draft.id)
  }

  async export(partnerId: string, connectorId: string, releaseId: string) {
    const connector = await this.connectors.get(partnerId, connectorId)
    const r = await this.load(connectorId, releaseId)
    return {
      connector: { name: connector.name, description: connector.description ?? undefined, apiVersion: connector.apiVersion ?? undefined },
      release: { version: formatVersion(r.version), state: r.state },
      settings: r.settings,
      definition: r.definition,
    }
  }

  // ---- deprecation sunset (issue 8 §6); the rules are in domain/lifecycle.ts, the queries in release-sunset.ts

  /** `sunsetAt` and, when the date is near or passed, `sunsetWarning`, as of the app clock. */
  sunsetFields(r: { state: Release['state']; version: Release['version']; sunsetAt?: string | null }): { sunsetAt: string | null; sunsetWarning: string | null } {
    const s = sunsetStatus(r, this.clock.now())
    return { sunsetAt: s.sunsetAt, sunsetWarning: s.warning }
  }

  /** Sets the sunset date of a deprecated release (must be in the future), or clears it with null. */
  async setSunset(actor: Principal, connectorId: string, releaseId: string, sunsetAt: string | null): Promise<Release> {
    await this.connectors.getOwned(actor.partnerId, connectorId)
    const r = await this.load(connectorId, releaseId)
    const now = this.clock.now()
    const at = sunsetAt === null ? null : checkSunset(r, sunsetAt, now)
    if (at === null && r.state !== 'deprecated') checkSunset(r, '', now) // clearing: still deprecated only (throws 409)
    const moved = await this.store.releases.setSunset(connectorId, r.id, at, now.toISOString())
    if (moved !== 1) throw fail('RELEASE_NOT_DEPRECATED', `release ${r.id} is no longer deprecated`)
    await this.store.history.record({ id: newId('hst'), connectorId, partnerId: actor.partnerId, releaseId: r.id, event: at ? 'sunset_set' : 'sunset_cleared', version: formatVersion(r.version), actor: actor.keyId, at: now.toISOString(), details: { sunsetAt: at, previous: r.sunsetAt ?? null } })
    return this.load(connectorId, r.id)
  }

  /** Who of the partner is still on the release: per account (account connectors, cycles, steps) and templates. */
  async usage(partnerId: string, connectorId: string, releaseId: string) {
    const r = await this.get(partnerId, connectorId, releaseId)
    return releaseUsage(this.store, partnerId, r, this.clock.now())
  }

  /** Usage counts for every listed release (for `GET …/releases?usage=true`). */
  async usageCounts(partnerId: string, connectorId: string, releaseIds: readonly string[]): Promise<Map<string, UsageCounts>> {
    return connectorUsage(this.store, partnerId, connectorId, releaseIds)
  }
}

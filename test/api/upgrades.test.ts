// Release upgrades (SPEC §7, issue 8): update available from pins; minor pushes re-pin.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'

interface StepView { key: string; connector?: { releaseId: string }; release?: { id: string; version: string | null }; updateAvailable: boolean; updateVersion: string | null }

for (const dialect of dialects()) {
  describe(`upgrades [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let cid: string
    let aid: string

    before(async () => {
      t = await startTestApp(dialect)
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-1' } })).json().id
      const def = crmDefinition()
      def.methods.push(createContactMethod() as never)
      await push({ settings: crmSettings(), definition: def }, 'major')
    })
    after(() => t.close())

    const push = async (body: object, kind: 'major' | 'minor') => {
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body })
      assert.equal(d.statusCode, 201, d.body)
      const p = await t.call('POST', `/v1/connectors/${cid}/releases/${d.json().id}/push`, { key, body: { kind } })
      assert.equal(p.statusCode, 200, p.body)
      return p.json() as { id: string; version: string }
    }
    const pushCopy = (kind: 'major' | 'minor', comments: string) => push({ from: 'live', settings: { ...crmSettings(), comments } }, kind)
    const templateBody = () => ({
      name: 'Contacts to CRM',
      steps: [
        { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } },
        { key: 'wait', type: 'delay', delay: { amount: 1, unit: 'minutes' } },
        { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } } },
      ],
    })
    const newTemplateAndCycle = async () => {
      const tpl = await t.call('POST', '/v1/templates', { key, body: templateBody() })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cyc = await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })
      assert.equal(cyc.statusCode, 201, cyc.body)
      return { tid: tpl.json().id as string, yid: cyc.json().id as string }
    }
    const templateSteps = async (tid: string) => (await t.call('GET', `/v1/templates/${tid}`, { key })).json().steps as StepView[]
    const cycleSteps = async (yid: string) => (await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}`, { key })).json().steps as StepView[]
    const connectorSteps = (steps: StepView[]) => steps.filter((s) => s.connector)

    test('every step view reports updateAvailable; tool steps never have an update', async () => {
      const { tid, yid } = await newTemplateAndCycle()
      for (const steps of [await templateSteps(tid), await cycleSteps(yid)]) {
        assert.equal(steps.length, 3)
        for (const s of steps) {
          assert.equal(s.updateAvailable, false)
          assert.equal(s.updateVersion, null)
        }
        assert.equal(steps.find((s) => s.key === 'wait')!.release, undefined)
      }
    })

    test('a minor push re-pins template and cycle steps in its transaction and records it; no update is shown', async () => {
      const { tid, yid } = await newTemplateAndCycle()
      const before = (await templateSteps(tid))[0].connector!.releaseId
      const minor = await pushCopy('minor', 'minor')
      for (const steps of [await templateSteps(tid), await cycleSteps(yid)]) {
        for (const s of connectorSteps(steps)) {
          assert.equal(s.connector!.releaseId, minor.id)
          assert.equal(s.release!.version, minor.version)
          assert.equal(s.updateAvailable, false)
        }
      }
      const history = (await t.call('GET', `/v1/connectors/${cid}/history`, { key })).json().items as Array<{ event: string; releaseId: string; details: Record<string, unknown> }>
      const repinned = history.find((h) => h.event === 'repinned' && h.releaseId === minor.id)
      assert.ok(repinned, JSON.stringify(history))
      assert.equal((repinned.details.from as { id: string }).id, before)
      // every template and cycle made so far was on the previous live release: 2 connector steps each
      assert.ok((repinned.details.templateSteps as number) >= 2)
      assert.ok((repinned.details.cycleSteps as number) >= 2)
      assert.equal(repinned.details.templateSteps, repinned.details.cycleSteps)
    })

    test('a major push shows the update on steps of older majors; upgrading the pin clears it', async () => {
      const { tid, yid } = await newTemplateAndCycle()
      const pinned = connectorSteps(await templateSteps(tid))[0].release!
      const major = await pushCopy('major', 'major')
      assert.match(major.version, /^\d+\.0$/)
      for (const steps of [await templateSteps(tid), await cycleSteps(yid)]) {
        for (const s of connectorSteps(steps)) {
          assert.equal(s.release!.id, pinned.id, 'a major push leaves pins where they are')
          assert.equal(s.updateAvailable, true)
          assert.equal(s.updateVersion, major.version)
        }
      }
      // a later minor push does not touch steps pinned to older majors (they are not on the live release)
      const minor = await pushCopy('minor', 'after major')
      const steps = connectorSteps(await templateSteps(tid))
      assert.ok(steps.every((s) => s.release!.id === pinned.id && s.updateAvailable && s.updateVersion === minor.version))
      // moving the template's pins to the live release clears the flag
      const body = templateBody()
      for (const s of body.steps) if (s.connector) (s.connector as { releaseId?: string }).releaseId = minor.id
      const saved = await t.call('PUT', `/v1/templates/${tid}`, { key, body })
      assert.equal(saved.statusCode, 200, saved.body)
      assert.ok(connectorSteps(saved.json().steps).every((s) => !s.updateAvailable && s.updateVersion === null))
      // the cycle keeps its own pins: still has the update
      assert.ok(connectorSteps(await cycleSteps(yid)).every((s) => s.updateAvailable))
    })

    test("a minor push never touches another partner's steps", async () => {
      const other = await t.newPartner('Other')
      const store = t.services.store
      const live = await store.releases.getByState(cid, 'live')
      assert.ok(live)
      // another partner's row pinned to this connector (not reachable through the API; the scoping is what counts)
      const at = new Date().toISOString()
      await store.db.transaction().execute((tx) =>
        store.templates.upsert(tx, { id: 'tpl_other_partner', partnerId: other.id, name: 'Other', description: null, settings: {}, createdAt: at, updatedAt: at }, [{ id: 'tst_other_partner', key: 'trigger', type: 'trigger', connector: { connectorId: cid, releaseId: live.id, methodId: 'list-contacts' } }], true),
      )
      const minor = await pushCopy('minor', 'other partner')
      const [step] = await store.templates.steps('tpl_other_partner')
      assert.equal(step.connector!.releaseId, live.id)
      assert.notEqual(minor.id, live.id)
    })
  })

  describe(`impact and upgrades [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let cid: string
    let aid: string
    let tid: string
    let yid: string
    let v1: string

    const createMethod = (fields: object[]) => ({ ...createContactMethod(), request: { format: 'json', fields } })
    const email = { location: 'email', field: 'Email', type: 'text' }
    const name = { location: 'name', field: 'Name', type: 'text', optional: true }
    const phone = { location: 'phone', field: 'Phone', type: 'text' }
    const definition = (fields: object[]) => {
      const def = crmDefinition()
      def.methods.push(createMethod(fields) as never)
      return def
    }
    const draft = async (fields: object[]) => {
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: definition(fields) } })
      assert.equal(d.statusCode, 201, d.body)
      return d.json().id as string
    }
    const push = async (rid: string) => {
      const p = await t.call('POST', `/v1/connectors/${cid}/releases/${rid}/push`, { key, body: { kind: 'major' } })
      assert.equal(p.statusCode, 200, p.body)
      return p.json() as { id: string; version: string }
    }
    const cycle = async () => (await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}`, { key })).json()
    const template = async () => (await t.call('GET', `/v1/templates/${tid}`, { key })).json()

    before(async () => {
      t = await startTestApp(dialect)
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-2' } })).json().id
      v1 = (await push(await draft([email, name]))).id
      const tpl = await t.call('POST', '/v1/templates', {
        key,
        body: {
          name: 'Contacts',
          steps: [
            { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } },
            { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'static', value: 'Ann' } } },
          ],
        },
      })
      assert.equal(tpl.statusCode, 201, tpl.body)
      tid = tpl.json().id
      const cyc = await t.call('POST', `/v1/templates/${tid}/install`, { key, body: { accountId: aid } })
      assert.equal(cyc.statusCode, 201, cyc.body)
      yid = cyc.json().id
    })
    after(() => t.close())

    test('impact of a breaking draft, before the push: who uses what, what disappears, what is needed', async () => {
      const rid = await draft([email, phone])
      const res = await t.call('GET', `/v1/connectors/${cid}/releases/${rid}/impact`, { key })
      assert.equal(res.statusCode, 200, res.body)
      const impact = res.json()
      assert.equal(impact.release.state, 'draft')
      assert.deepEqual(impact.summary, { templates: 1, breakingTemplates: 1, cycles: 1, breakingCycles: 1, accounts: 1, byRelease: [{ releaseId: v1, version: '1.0', templateSteps: 2, cycleSteps: 2 }] })
      assert.deepEqual(impact.accounts, [{ id: aid, cycles: 1, breakingCycles: 1 }])
      for (const user of [impact.templates[0], impact.cycles[0]]) {
        const create = user.steps.find((s: { stepKey: string }) => s.stepKey === 'create')
        assert.equal(create.from.version, '1.0')
        assert.deepEqual(create.kept, ['fields.Email'])
        assert.deepEqual(create.dropped.map((d: { path: string }) => d.path), ['fields.Name'])
        assert.deepEqual(create.needed.map((d: { path: string }) => d.path), ['fields.Phone'])
        assert.equal(user.steps.find((s: { stepKey: string }) => s.stepKey === 'trigger').outcome, 'upgradable')
      }
      assert.equal(impact.cycles[0].accountId, aid)
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/rel_nope/impact`, { key })).statusCode, 404)
      const stranger = (await t.newPartner('Stranger')).apiKey
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/${rid}/impact`, { key: stranger })).statusCode, 404)
      await push(rid)
    })

    test('breaking upgrade: dry run reports, apply is refused; a forced cycle upgrade is applied and paused with the reason', async () => {
      const dry = await t.call('POST', `/v1/templates/${tid}/upgrade`, { key, body: { dryRun: true } })
      assert.equal(dry.statusCode, 200, dry.body)
      assert.equal(dry.json().upgraded, false)
      assert.match(dry.json().problems[0].message, /required field "Phone"/)
      const refused = await t.call('POST', `/v1/templates/${tid}/upgrade`, { key, body: {} })
      assert.equal(refused.statusCode, 409)
      assert.equal(refused.json().error.code, 'UPGRADE_BLOCKED')
      assert.ok((await template()).steps.every((s: StepView) => s.updateAvailable && s.updateVersion === '2.0'))

      const cdry = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/upgrade`, { key, body: { dryRun: true } })
      assert.equal(cdry.statusCode, 200, cdry.body)
      assert.deepEqual({ upgraded: cdry.json().upgraded, runnable: cdry.json().runnable, paused: cdry.json().paused }, { upgraded: false, runnable: false, paused: false })
      assert.match(cdry.json().reason, /step "create" needing fields.Phone/)
      const noBody = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/upgrade`, { key, body: {} })
      assert.equal(noBody.statusCode, 409, noBody.body)
      assert.ok((await cycle()).steps.every((s: StepView) => s.release!.version === '1.0'), 'nothing moved')

      const forced = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/upgrade`, { key, body: { force: true } })
      assert.equal(forced.statusCode, 200, forced.body)
      assert.deepEqual({ upgraded: forced.json().upgraded, paused: forced.json().paused }, { upgraded: true, paused: true })
      const after = await cycle()
      assert.equal(after.status, 'paused')
      assert.match(after.statusReason, /fields.Phone/)
      assert.ok(after.steps.every((s: StepView) => s.release!.version === '2.0' && !s.updateAvailable))
      const create = after.steps.find((s: StepView) => s.key === 'create')
      assert.deepEqual(Object.keys(create.fields), ['Email'])
      assert.ok(after.prerequisites.some((p: { reason: string; objectId: string }) => p.reason === 'MISSING_FIELD_VALUE' && p.objectId === 'Phone'))
      const history = (await t.call('GET', `/v1/connectors/${cid}/history`, { key })).json().items as Array<{ event: string; details: Record<string, unknown> }>
      const upgraded = history.find((h) => h.event === 'upgraded' && h.details.cycleId === yid)
      assert.ok(upgraded)
      assert.equal(upgraded.details.forced, true)
    })

    test('bulk upgrade of a connector: dry run changes nothing; apply keeps mappings that still exist', async () => {
      await push(await draft([email, name, { location: 'company', field: 'Company', type: 'text', optional: true }]))
      const dry = await t.call('POST', `/v1/connectors/${cid}/upgrade`, { key, body: { dryRun: true } })
      assert.equal(dry.statusCode, 200, dry.body)
      assert.equal(dry.json().to.version, '3.0')
      assert.deepEqual(dry.json().summary, { templates: { upgraded: 1, blocked: 0 }, cycles: { upgraded: 1, paused: 0, blocked: 0 } })
      const cycleCreate = dry.json().cycles[0].steps.find((s: { stepKey: string }) => s.stepKey === 'create')
      assert.deepEqual(cycleCreate.dropped.map((d: { path: string }) => d.path), ['userConfigurable.Phone'])
      assert.ok((await template()).steps.every((s: StepView) => s.release!.version === '1.0'), 'a dry run changes nothing')

      const applied = await t.call('POST', `/v1/connectors/${cid}/upgrade`, { key, body: {} })
      assert.equal(applied.statusCode, 200, applied.body)
      const tpl = await template()
      assert.ok(tpl.steps.every((s: StepView) => s.release!.version === '3.0' && !s.updateAvailable))
      assert.deepEqual(Object.keys(tpl.steps[1].fields), ['Email', 'Name'])
      const cyc = await cycle()
      assert.ok(cyc.steps.every((s: StepView) => s.release!.version === '3.0' && !s.updateAvailable))
      assert.ok(!cyc.prerequisites.some((p: { reason: string }) => p.reason === 'MISSING_FIELD_VALUE'))
      // nothing left to move
      const again = await t.call('POST', `/v1/connectors/${cid}/upgrade`, { key, body: { dryRun: true } })
      assert.deepEqual(again.json().summary, { templates: { upgraded: 0, blocked: 0 }, cycles: { upgraded: 0, paused: 0, blocked: 0 } })
    })
  })
}

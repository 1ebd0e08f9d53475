// Release upgrades (SPEC §7, issue 8 §4–5): upgrading one step of a template or a cycle, and a
// release's migrate_step script (renamed field keeps its mapping; a throwing script stops only its
// step; the dry run shows the script's result).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'

interface StepView { key: string; connector?: { releaseId: string; methodId: string }; fields?: Record<string, unknown>; userValues?: Record<string, unknown>; release?: { id: string; version: string | null }; updateAvailable: boolean }
interface StepReport { stepKey: string; methodId: string; outcome: string; kept: string[]; dropped: Array<{ path: string }>; needed: Array<{ path: string }>; migration?: { ok: boolean; result?: { methodId: string; fields?: Record<string, unknown> }; error?: string } }

const email = { location: 'email', field: 'Email', type: 'text' }
const name = { location: 'name', field: 'Name', type: 'text', optional: true }
const fullName = { location: 'full_name', field: 'FullName', type: 'text', optional: true }
const phone = { location: 'phone', field: 'Phone', type: 'text' }

for (const dialect of dialects()) {
  describe(`single-step upgrades and migrate_step [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let other: string
    let cid: string
    let aid: string

    const definition = (fields: object[], migrations?: object) => {
      const def = crmDefinition() as Record<string, unknown> & { methods: object[] }
      def.methods.push({ ...createContactMethod(), request: { format: 'json', fields } })
      if (migrations) def.migrations = migrations
      return def
    }
    const pushMajor = async (fields: object[], migrations?: object) => {
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: definition(fields, migrations) } })
      assert.equal(d.statusCode, 201, d.body)
      const p = await t.call('POST', `/v1/connectors/${cid}/releases/${d.json().id}/push`, { key, body: { kind: 'major' } })
      assert.equal(p.statusCode, 200, p.body)
      return p.json() as { id: string; version: string }
    }
    const newTemplateAndCycle = async (createFields: object = { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'static', value: 'Ann' } }, extra: object = {}) => {
      const tpl = await t.call('POST', '/v1/templates', {
        key,
        body: {
          name: 'Contacts',
          steps: [
            { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } },
            { key: 'wait', type: 'delay', delay: { amount: 1, unit: 'minutes' } },
            { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: createFields, ...extra },
          ],
        },
      })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cyc = await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })
      assert.equal(cyc.statusCode, 201, cyc.body)
      return { tid: tpl.json().id as string, yid: cyc.json().id as string }
    }
    const templateSteps = async (tid: string) => (await t.call('GET', `/v1/templates/${tid}`, { key })).json().steps as StepView[]
    const cycleView = async (yid: string) => (await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}`, { key })).json()
    const step = (steps: StepView[], k: string) => steps.find((s) => s.key === k)!
    const history = async () => (await t.call('GET', `/v1/connectors/${cid}/history?limit=500`, { key })).json().items as Array<{ event: string; details: Record<string, unknown> }>

    before(async () => {
      t = await startTestApp(dialect)
      key = (await t.newPartner()).apiKey
      other = (await t.newPartner('Other')).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-steps' } })).json().id
      await pushMajor([email, name])
    })
    after(() => t.close())

    test('one template step: dry run changes nothing, apply moves only that step; unknown keys and other partners are 404', async () => {
      const { tid } = await newTemplateAndCycle()
      const v1 = step(await templateSteps(tid), 'create').release!
      const v2 = await pushMajor([email, name])
      const url = `/v1/templates/${tid}/steps/create/upgrade`

      const dry = await t.call('POST', url, { key, body: { dryRun: true } })
      assert.equal(dry.statusCode, 200, dry.body)
      assert.equal(dry.json().dryRun, true)
      assert.equal(dry.json().upgraded, true)
      assert.deepEqual(dry.json().steps.map((s: StepReport) => [s.stepKey, s.outcome]), [['create', 'upgradable']])
      assert.ok((await templateSteps(tid)).every((s) => !s.connector || s.release!.id === v1.id), 'a dry run changes nothing')

      const applied = await t.call('POST', url, { key, body: {} })
      assert.equal(applied.statusCode, 200, applied.body)
      const steps = await templateSteps(tid)
      assert.equal(step(steps, 'create').release!.id, v2.id)
      assert.equal(step(steps, 'create').updateAvailable, false)
      assert.deepEqual(Object.keys(step(steps, 'create').fields!), ['Email', 'Name'], 'mappings kept')
      assert.equal(step(steps, 'trigger').release!.id, v1.id, 'the other step stays')
      assert.equal(step(steps, 'trigger').updateAvailable, true)
      assert.ok((await history()).some((h) => h.event === 'upgraded' && h.details.templateId === tid && (h.details.steps as Array<{ stepKey: string }>).map((s) => s.stepKey).join() === 'create'))

      // a tool step has nothing to upgrade; the step already moved neither
      for (const k of ['wait', 'create']) {
        const none = await t.call('POST', `/v1/templates/${tid}/steps/${k}/upgrade`, { key, body: {} })
        assert.equal(none.statusCode, 200, none.body)
        assert.deepEqual({ upgraded: none.json().upgraded, steps: none.json().steps }, { upgraded: false, steps: [] })
      }
      assert.equal((await t.call('POST', `/v1/templates/${tid}/steps/nope/upgrade`, { key, body: {} })).statusCode, 404)
      assert.equal((await t.call('POST', `/v1/templates/tpl_nope/steps/create/upgrade`, { key, body: {} })).statusCode, 404)
      const stranger = await t.call('POST', `/v1/templates/${tid}/steps/trigger/upgrade`, { key: other, body: {} })
      assert.equal(stranger.statusCode, 404)
      assert.equal(stranger.json().error.code, 'NOT_FOUND')
      assert.equal(step(await templateSteps(tid), 'trigger').release!.id, v1.id, "another partner's request moved nothing")
    })

    test('one cycle step: moves alone; a step left needing input is refused (409) unless forced, then the cycle is paused', async () => {
      const { yid } = await newTemplateAndCycle()
      const v1 = step((await cycleView(yid)).steps, 'create').release!
      const v2 = await pushMajor([email, name])
      const base = `/v1/accounts/${aid}/cycles/${yid}/steps`

      const dry = await t.call('POST', `${base}/trigger/upgrade`, { key, body: { dryRun: true } })
      assert.equal(dry.statusCode, 200, dry.body)
      assert.deepEqual(dry.json().steps.map((s: StepReport) => s.stepKey), ['trigger'])
      assert.equal(step((await cycleView(yid)).steps, 'trigger').release!.id, v1.id)
      const moved = await t.call('POST', `${base}/trigger/upgrade`, { key, body: {} })
      assert.equal(moved.statusCode, 200, moved.body)
      let steps = (await cycleView(yid)).steps as StepView[]
      assert.equal(step(steps, 'trigger').release!.id, v2.id)
      assert.equal(step(steps, 'create').release!.id, v1.id, 'the other step stays')

      // a release where create-contact needs a Phone: the create step would need input
      const v3 = await pushMajor([email, phone])
      const refused = await t.call('POST', `${base}/create/upgrade`, { key, body: {} })
      assert.equal(refused.statusCode, 409, refused.body)
      assert.equal(refused.json().error.code, 'UPGRADE_BLOCKED')
      assert.match(refused.json().error.message, /fields\.Phone/)
      assert.equal(step((await cycleView(yid)).steps, 'create').release!.id, v1.id)
      const forced = await t.call('POST', `${base}/create/upgrade`, { key, body: { force: true } })
      assert.equal(forced.statusCode, 200, forced.body)
      assert.deepEqual({ upgraded: forced.json().upgraded, paused: forced.json().paused }, { upgraded: true, paused: true })
      const after = await cycleView(yid)
      assert.equal(after.status, 'paused')
      assert.equal(step(after.steps, 'create').release!.id, v3.id)
      assert.equal(step(after.steps, 'trigger').release!.id, v2.id, 'only the named step moved')

      assert.equal((await t.call('POST', `${base}/nope/upgrade`, { key, body: {} })).statusCode, 404)
      for (const [who, account] of [[other, aid], [key, 'acc_nope']] as const) {
        const res = await t.call('POST', `/v1/accounts/${account}/cycles/${yid}/steps/trigger/upgrade`, { key: who, body: { force: true } })
        assert.equal(res.statusCode, 404, res.body)
      }
    })

    test('migrate_step renames a field: the dry run shows the result, the mapping is kept under the new name', async () => {
      await pushMajor([email, name]) // templates are made on the live release
      const { tid, yid } = await newTemplateAndCycle()
      // the cycle also has a user value under the old name
      await t.services.store.db.updateTable('cycle_steps').set({ config: JSON.stringify({ fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'static', value: 'Ann' } }, userConfigurable: ['Name'] }), user_values: JSON.stringify({ Name: 'Bob' }) }).where('cycle_id', '=', yid).where('step_key', '=', 'create').execute()
      const script = `
        function migrate_step(step, context) {
          if (context.from.method && context.to.method && step.fields.Name) {
            step.fields.FullName = step.fields.Name
            delete step.fields.Name
          }
          step.userConfigurable = step.userConfigurable.map(function (n) { return n === 'Name' ? 'FullName' : n })
          if (step.userValues && 'Name' in step.userValues) { step.userValues.FullName = step.userValues.Name; delete step.userValues.Name }
          return step
        }`
      const v2 = await pushMajor([email, fullName], { migrate_step: script })

      // the impact of the release runs the script too: nothing breaks
      const impact = (await t.call('GET', `/v1/connectors/${cid}/releases/${v2.id}/impact`, { key })).json()
      const mine = impact.templates.find((x: { id: string }) => x.id === tid)
      assert.equal(mine.breaking, false)
      assert.deepEqual(mine.steps.find((s: StepReport) => s.stepKey === 'create').kept, ['fields.Email', 'fields.FullName'])

      const dry = await t.call('POST', `/v1/templates/${tid}/upgrade`, { key, body: { dryRun: true } })
      assert.equal(dry.statusCode, 200, dry.body)
      const create = dry.json().steps.find((s: StepReport) => s.stepKey === 'create') as StepReport
      assert.equal(create.outcome, 'upgradable')
      assert.equal(create.migration!.ok, true)
      assert.deepEqual(create.migration!.result!.fields, { Email: { type: 'step', step: 'trigger', field: 'Email' }, FullName: { type: 'static', value: 'Ann' } })
      assert.deepEqual(create.kept, ['fields.Email', 'fields.FullName'])
      assert.deepEqual(create.dropped, [])
      assert.equal(step(await templateSteps(tid), 'create').fields!.Name !== undefined, true, 'a dry run changes nothing')

      const applied = await t.call('POST', `/v1/templates/${tid}/upgrade`, { key, body: {} })
      assert.equal(applied.statusCode, 200, applied.body)
      const tcreate = step(await templateSteps(tid), 'create')
      assert.equal(tcreate.release!.id, v2.id)
      assert.deepEqual(tcreate.fields, { Email: { type: 'step', step: 'trigger', field: 'Email' }, FullName: { type: 'static', value: 'Ann' } })

      const cyc = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/upgrade`, { key, body: {} })
      assert.equal(cyc.statusCode, 200, cyc.body)
      assert.equal(cyc.json().upgraded, true)
      const ccreate = step((await cycleView(yid)).steps, 'create') as StepView & { userConfigurable?: string[] }
      assert.equal(ccreate.release!.id, v2.id)
      assert.deepEqual(Object.keys(ccreate.fields!), ['Email', 'FullName'])
      assert.deepEqual(ccreate.userConfigurable, ['FullName'])
      assert.deepEqual(ccreate.userValues, { FullName: 'Bob' }, 'the user value follows the renamed field')
    })

    test('a migrate_step script that throws fails only its step, which stays on its release (dry run and apply)', async () => {
      await pushMajor([email, name]) // templates are made on the live release
      const { tid, yid } = await newTemplateAndCycle({ Email: { type: 'step', step: 'trigger', field: 'Email' } })
      const before = step(await templateSteps(tid), 'create').release!
      const script = `function migrate_step(step, context) {
  if (context.stepKey === 'create') throw new Error('cannot migrate ' + step.methodId)
}`
      const v = await pushMajor([email, name], { migrate_step: script })

      const dry = await t.call('POST', `/v1/templates/${tid}/upgrade`, { key, body: { dryRun: true } })
      assert.equal(dry.statusCode, 200, dry.body)
      const reports = dry.json().steps as StepReport[]
      const failed = reports.find((s) => s.stepKey === 'create')!
      assert.equal(failed.outcome, 'migrationFailed')
      assert.equal(failed.migration!.ok, false)
      assert.match(failed.migration!.error!, /cannot migrate create-contact \(line 2\)/)
      assert.equal(reports.find((s) => s.stepKey === 'trigger')!.outcome, 'upgradable', 'the script returned nothing for the trigger: kept as it is')

      for (const url of [`/v1/templates/${tid}/upgrade`, `/v1/accounts/${aid}/cycles/${yid}/upgrade`]) {
        const res = await t.call('POST', url, { key, body: {} })
        assert.equal(res.statusCode, 200, res.body)
        assert.equal(res.json().upgraded, true)
      }
      for (const steps of [await templateSteps(tid), (await cycleView(yid)).steps as StepView[]]) {
        assert.equal(step(steps, 'trigger').release!.id, v.id)
        assert.equal(step(steps, 'create').release!.id, before.id, 'the failing step stays')
        assert.equal(step(steps, 'create').updateAvailable, true)
      }
      // one step alone: its failure is the refusal
      const single = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/steps/create/upgrade`, { key, body: {} })
      assert.equal(single.statusCode, 409, single.body)
      assert.match(single.json().error.message, /cannot migrate/)
      const cycleHistory = (await history()).filter((h) => h.event === 'upgraded' && h.details.cycleId === yid)
      assert.deepEqual(cycleHistory.flatMap((h) => (h.details.steps as Array<{ stepKey: string }>).map((s) => s.stepKey)).sort(), ['trigger'])
    })

    test('the bulk upgrade runs migrate_step per step too, and reports failures without stopping the others', async () => {
      await pushMajor([email, name]) // templates are made on the live release
      const { yid } = await newTemplateAndCycle()
      const { yid: failing } = await newTemplateAndCycle({ Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'static', value: 'Fail' } })
      const failingBefore = step((await cycleView(failing)).steps, 'create').release!.id
      const script = `function migrate_step(step) {
  if (step.fields.Name && step.fields.Name.value === 'Fail') throw new Error('no way')
  if (step.fields.Name) { step.fields.FullName = step.fields.Name; delete step.fields.Name }
  return step
}`
      const v = await pushMajor([email, fullName], { migrate_step: script })
      const dry = await t.call('POST', `/v1/connectors/${cid}/upgrade`, { key, body: { dryRun: true, scope: 'cycles' } })
      assert.equal(dry.statusCode, 200, dry.body)
      const report = (id: string) => dry.json().cycles.find((c: { cycleId: string }) => c.cycleId === id).steps.find((s: StepReport) => s.stepKey === 'create') as StepReport
      assert.deepEqual(Object.keys(report(yid).migration!.result!.fields!), ['Email', 'FullName'])
      assert.equal(report(failing).outcome, 'migrationFailed')
      assert.match(report(failing).migration!.error!, /no way/)

      const applied = await t.call('POST', `/v1/connectors/${cid}/upgrade`, { key, body: { scope: 'cycles', force: true } })
      assert.equal(applied.statusCode, 200, applied.body)
      const create = step((await cycleView(yid)).steps, 'create')
      assert.equal(create.release!.id, v.id)
      assert.deepEqual(create.fields!.FullName, { type: 'static', value: 'Ann' })
      const failed = (await cycleView(failing)).steps as StepView[]
      assert.equal(step(failed, 'create').release!.id, failingBefore, 'the failing step stays')
      assert.equal(step(failed, 'trigger').release!.id, v.id, 'the rest of its cycle moves')
    })
  })
}

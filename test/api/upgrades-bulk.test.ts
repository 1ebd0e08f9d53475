// Bulk upgrades (issue 8 §4, docs/upgrades.md "Bulk upgrades"): many cycles planned from one query
// and written in batches (500 cycles per database transaction, identical rows in chunked
// `UPDATE … WHERE id IN (…)`, one multi-row history insert per batch) — the same result as one by one.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'
import { newId } from '../../src/shared/ids.js'

const CYCLES = 1_200 // three batches; 2 400 identical "create" rows: chunked IN lists

for (const dialect of dialects()) {
  describe(`bulk upgrade in batches [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let partnerId: string
    let cid: string
    let aid: string

    const definition = (fields: object[]) => {
      const def = crmDefinition()
      def.methods.push({ ...createContactMethod(), request: { format: 'json', fields } } as never)
      return def
    }
    const push = async (fields: object[]) => {
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: definition(fields) } })
      assert.equal(d.statusCode, 201, d.body)
      const p = await t.call('POST', `/v1/connectors/${cid}/releases/${d.json().id}/push`, { key, body: { kind: 'major' } })
      assert.equal(p.statusCode, 200, p.body)
      return p.json() as { id: string; version: string }
    }

    before(async () => {
      t = await startTestApp(dialect)
      const p = await t.newPartner()
      key = p.apiKey
      partnerId = p.id
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-bulk' } })).json().id
    })
    after(() => t.close())

    test('1 200 cycles: every one moves, mappings kept, one history row each; another partner\'s cycle is not touched', async () => {
      const email = { location: 'email', field: 'Email', type: 'text' }
      const v1 = await push([email, { location: 'name', field: 'Name', type: 'text', optional: true }])
      const db = t.services.store.db
      const at = new Date().toISOString()
      const create = JSON.stringify({ fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'static', value: 'Ann' } } })
      const row = (cycleId: string, partner: string, i: number) => ({
        id: newId('cst'), cycle_id: cycleId, partner_id: partner, step_key: i === 0 ? 'trigger' : `create${i}`, position: i, type: i === 0 ? 'trigger' : 'action',
        connector_id: cid, release_id: v1.id, method_id: i === 0 ? 'list-contacts' : 'create-contact', account_connector_id: null, config: i === 0 ? '{}' : create, user_values: '{}', last_successful_run_at: null,
      })
      const cycle = (id: string, partner: string) => ({ id, partner_id: partner, account_id: aid, template_id: null, name: id, status: 'paused' as const, status_reason: null, interval_minutes: null, start_at: null, run_once: 0, settings: '{}', activated_at: null, created_at: at, updated_at: at })
      const other = await t.newPartner('Other')
      await db.transaction().execute(async (tx) => {
        for (let c = 0; c < CYCLES; c += 100) {
          const ids = Array.from({ length: Math.min(100, CYCLES - c) }, (_, i) => `cyc_bulk_${String(c + i).padStart(5, '0')}`)
          await tx.insertInto('cycles').values(ids.map((id) => cycle(id, partnerId))).execute()
          await tx.insertInto('cycle_steps').values(ids.flatMap((id) => [0, 1, 2].map((i) => row(id, partnerId, i)))).execute()
        }
        // another partner's cycle on the same connector (scoping is what counts)
        await tx.insertInto('cycles').values(cycle('cyc_bulk_other', other.id)).execute()
        await tx.insertInto('cycle_steps').values([0, 1].map((i) => row('cyc_bulk_other', other.id, i))).execute()
      })
      const v2 = await push([email, { location: 'name', field: 'Name', type: 'text', optional: true }, { location: 'company', field: 'Company', type: 'text', optional: true }])

      const dry = await t.call('POST', `/v1/connectors/${cid}/upgrade`, { key, body: { dryRun: true, scope: 'cycles' } })
      assert.equal(dry.statusCode, 200, dry.body)
      assert.deepEqual(dry.json().summary.cycles, { upgraded: CYCLES, paused: 0, blocked: 0 })
      const stillOn = await db.selectFrom('cycle_steps').select((eb) => eb.fn.countAll().as('n')).where('release_id', '=', v1.id).executeTakeFirstOrThrow()
      assert.equal(Number(stillOn.n), CYCLES * 3 + 2, 'a dry run writes nothing')

      const applied = await t.call('POST', `/v1/connectors/${cid}/upgrade`, { key, body: { scope: 'cycles' } })
      assert.equal(applied.statusCode, 200, applied.body)
      assert.deepEqual(applied.json().summary.cycles, { upgraded: CYCLES, paused: 0, blocked: 0 })
      const rows = await db.selectFrom('cycle_steps').select(['cycle_id', 'release_id', 'config', 'partner_id']).where('connector_id', '=', cid).execute()
      for (const r of rows) {
        if (r.partner_id === other.id) assert.equal(r.release_id, v1.id, "another partner's steps are never touched")
        else {
          assert.equal(r.release_id, v2.id, `${r.cycle_id} moved`)
          if (r.config !== '{}') assert.deepEqual(JSON.parse(r.config), JSON.parse(create), 'mappings kept')
        }
      }
      const history = await db.selectFrom('connector_history').select(['details', 'release_id']).where('connector_id', '=', cid).where('event', '=', 'upgraded').execute()
      assert.equal(history.length, CYCLES)
      const cycleIds = new Set(history.map((h) => JSON.parse(h.details!).cycleId as string))
      assert.equal(cycleIds.size, CYCLES)
      assert.ok(history.every((h) => h.release_id === v2.id))
      const sample = JSON.parse(history[0].details!) as { steps: Array<{ stepKey: string; from: { releaseId: string } }> }
      assert.deepEqual(sample.steps.map((s) => s.stepKey), ['trigger', 'create1', 'create2'])
      assert.ok(sample.steps.every((s) => s.from.releaseId === v1.id))

      // the cycle view agrees (update available gone)
      const view = (await t.call('GET', `/v1/accounts/${aid}/cycles/cyc_bulk_00000`, { key })).json()
      assert.ok(view.steps.every((s: { updateAvailable: boolean }) => !s.updateAvailable))
    })
  })
}

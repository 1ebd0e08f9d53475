import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'

for (const dialect of dialects()) {
  describe(`templates [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let cid: string
    let v1: string
    let v2: string
    before(async () => {
      t = await startTestApp(dialect)
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      const def = crmDefinition()
      def.methods.push(createContactMethod() as never)
      const d1 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: def } })).json()
      await t.call('POST', `/v1/connectors/${cid}/releases/${d1.id}/push`, { key, body: { kind: 'major' } })
      v1 = d1.id
      const d2 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { from: 'live', settings: { ...crmSettings(), comments: '2' } } })).json()
      await t.call('POST', `/v1/connectors/${cid}/releases/${d2.id}/push`, { key, body: { kind: 'major' } })
      v2 = d2.id
    })
    after(() => t.close())

    const template = (overrides: Record<string, unknown> = {}) => ({
      name: 'Contacts to CRM',
      steps: [
        { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } },
        { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } }, onError: { action: 'retry', retries: 2 } },
      ],
      ...overrides,
    })

    test('create pins every connector step to the live release; show and list it', async () => {
      const res = await t.call('POST', '/v1/templates', { key, body: template() })
      assert.equal(res.statusCode, 201, res.body)
      const tpl = res.json()
      assert.match(tpl.id, /^tpl_/)
      assert.deepEqual(tpl.steps.map((s: { key: string }) => s.key), ['trigger', 'create'])
      for (const s of tpl.steps) {
        assert.equal(s.connector.releaseId, v2)
        assert.equal(s.release.version, '2.0')
      }
      assert.deepEqual((await t.call('GET', `/v1/templates/${tpl.id}`, { key })).json(), tpl)
      assert.ok((await t.call('GET', '/v1/templates', { key })).json().items.some((x: { id: string }) => x.id === tpl.id))
    })

    test('a step may pin an older (deprecated) release, never a draft', async () => {
      const old = template()
      ;(old.steps[0] as { connector: { releaseId?: string } }).connector.releaseId = v1
      const res = await t.call('POST', '/v1/templates', { key, body: old })
      assert.equal(res.statusCode, 201)
      assert.equal(res.json().steps[0].release.version, '1.0')
      const draft = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { from: 'live' } })).json()
      ;(old.steps[0] as { connector: { releaseId?: string } }).connector.releaseId = draft.id
      const refused = await t.call('POST', '/v1/templates', { key, body: old })
      assert.equal(refused.statusCode, 422)
      assert.equal(refused.json().error.details[0].path, '/steps/0/connector/releaseId')
      await t.call('DELETE', `/v1/connectors/${cid}/releases/${draft.id}`, { key })
    })

    test('saving reports every problem at once and stores nothing', async () => {
      const before = (await t.call('GET', '/v1/templates', { key })).json().items.length
      const bad = {
        name: 'Broken',
        steps: [
          { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'later', field: 'Email' }, Nope: { type: 'static', value: 1 } } },
          { key: 'later', type: 'trigger', connector: { connectorId: cid, methodId: 'no-such-method' } },
          { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, parameters: { page: { type: 'static', value: '2' } } },
          { key: 'check', type: 'decision', decision: { left: { type: 'template', value: '{{create.ContactId}} {{Unknown}}' }, operator: 'equals' }, routes: { onTrue: 'create' } },
          { key: 'wait', type: 'delay' },
          { key: 'pick', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'lookup', lookup: 'owners' } } },
        ],
      }
      const res = await t.call('POST', '/v1/templates', { key, body: bad })
      assert.equal(res.statusCode, 422)
      assert.equal(res.json().error.code, 'VALIDATION_FAILED')
      const problems = res.json().error.details as Array<{ path: string; message: string }>
      const has = (path: string, re: RegExp) => assert.ok(problems.some((p) => p.path === path && re.test(p.message)), `${path} ${re} in ${JSON.stringify(problems, null, 1)}`)
      has('/steps/0/type', /first step must be the trigger/)
      has('/steps/0/fields/Email', /does not run before this step/)
      has('/steps/0/fields/Nope', /no request field "Nope"/)
      has('/steps/1/type', /only the first step can be a trigger/)
      has('/steps/1/connector/methodId', /no method "no-such-method"/)
      has('/steps/2/key', /duplicate step key/)
      has('/steps/2/parameters/page', /no parameter "page"/)
      has('/steps/2/fields/Email', /required field "Email" is not mapped/)
      has('/steps/3/decision/right', /needs a right operand/)
      has('/steps/3/decision/left', /unknown merge field \{\{Unknown\}\}/)
      has('/steps/3/routes/onTrue', /forward only/)
      has('/steps/4/delay', /needs \{amount, unit\}/)
      has('/steps/5/fields/Email', /no lookup "owners"/)
      assert.equal((await t.call('GET', '/v1/templates', { key })).json().items.length, before)
    })

    test('a user-configurable field satisfies a required field', async () => {
      const body = template()
      const step = body.steps[1] as { fields?: unknown; userConfigurable?: string[] }
      delete step.fields
      step.userConfigurable = ['Email']
      assert.equal((await t.call('POST', '/v1/templates', { key, body })).statusCode, 201)
    })

    test('decisions, delays and inline scripts are accepted', async () => {
      const body = template()
      body.steps.splice(1, 0,
        { key: 'has-email', type: 'decision', decision: { left: { type: 'step', step: 'trigger', field: 'Email' }, operator: 'isNotEmpty' }, routes: { onFalse: 'end' } } as never,
        { key: 'pause', type: 'delay', delay: { amount: 5, unit: 'minutes' } } as never,
      )
      ;(body.steps[3] as { fields: Record<string, unknown> }).fields.Email = { type: 'script', value: '=fields.Email.toLowerCase()' }
      const res = await t.call('POST', '/v1/templates', { key, body })
      assert.equal(res.statusCode, 201, res.body)
      assert.deepEqual(res.json().steps.map((s: { type: string }) => s.type), ['trigger', 'decision', 'delay', 'action'])
    })

    test('bad shapes are 400s naming the field', async () => {
      const res = await t.call('POST', '/v1/templates', { key, body: { name: 'x', steps: [{ key: 'a', type: 'webhook' }], extra: 1 } })
      assert.equal(res.statusCode, 400)
      const paths = res.json().error.details.map((d: { path: string }) => d.path)
      assert.ok(paths.includes('body.extra'), paths.join())
      assert.ok(paths.some((p: string) => p.startsWith('body.steps.0.type')), paths.join())
    })

    test('update keeps step ids by key; delete', async () => {
      const created = (await t.call('POST', '/v1/templates', { key, body: template() })).json()
      const body = template({ name: 'Renamed' })
      body.steps.push({ key: 'again', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'static', value: 'x@example.com' } } } as never)
      const updated = await t.call('PUT', `/v1/templates/${created.id}`, { key, body })
      assert.equal(updated.statusCode, 200)
      assert.equal(updated.json().name, 'Renamed')
      assert.equal(updated.json().steps[0].id, created.steps[0].id)
      assert.equal(updated.json().steps[1].id, created.steps[1].id)
      assert.equal(updated.json().steps.length, 3)
      assert.equal((await t.call('DELETE', `/v1/templates/${created.id}`, { key })).statusCode, 204)
      assert.equal((await t.call('GET', `/v1/templates/${created.id}`, { key })).statusCode, 404)
    })

    test("another partner's template is a 404; its connectors cannot be used", async () => {
      const mine = (await t.call('POST', '/v1/templates', { key, body: template() })).json()
      const other = await t.newPartner('Other')
      for (const [m, body] of [['GET'], ['DELETE'], ['PUT', template()]] as Array<[string, unknown?]>) {
        assert.equal((await t.call(m, `/v1/templates/${mine.id}`, { key: other.apiKey, body })).statusCode, 404, m)
      }
      const res = await t.call('POST', '/v1/templates', { key: other.apiKey, body: template() })
      assert.equal(res.statusCode, 422)
      assert.match(res.json().error.details[0].message, /no release .* this partner can use/)
    })

    test('a connector used by a template step cannot be deleted (409)', async () => {
      await t.call('POST', '/v1/templates', { key, body: template() })
      const res = await t.call('DELETE', `/v1/connectors/${cid}`, { key })
      assert.equal(res.statusCode, 409)
      assert.equal(res.json().error.code, 'CONNECTOR_IN_USE')
      assert.equal((await t.call('GET', `/v1/connectors/${cid}`, { key })).statusCode, 200)
    })
  })
}

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { stringify as toYaml } from 'yaml'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'
import { makePng } from '../helpers/images.js'

for (const dialect of dialects()) {
  describe(`releases [${dialect}]`, () => {
    let t: TestApp
    let key: string
    before(async () => {
      t = await startTestApp(dialect)
      key = (await t.newPartner()).apiKey
    })
    after(() => t.close())

    const newConnector = async (name = 'Pipeline') => (await t.call('POST', '/v1/connectors', { key, body: { name, description: 'CRM', apiVersion: '3' } })).json().id as string
    const releasesOf = async (cid: string) => (await t.call('GET', `/v1/connectors/${cid}/releases`, { key })).json().items as Array<{ id: string; state: string; version: string | null }>

    test('the walkthrough: 1.0 major, 1.1 minor, breaking minor refused, 2.0 major', async () => {
      const cid = await newConnector()
      assert.deepEqual(await releasesOf(cid), [], 'a new connector has no release')

      const d1 = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: crmDefinition() } })
      assert.equal(d1.statusCode, 201)
      assert.equal(d1.json().state, 'draft')
      assert.equal(d1.json().version, null)
      const p1 = await t.call('POST', `/v1/connectors/${cid}/releases/${d1.json().id}/push`, { key, body: { kind: 'major' } })
      assert.equal(p1.statusCode, 200, p1.body)
      assert.equal(p1.json().state, 'live')
      assert.equal(p1.json().version, '1.0')

      const d2 = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { from: 'live' } })
      assert.equal(d2.statusCode, 201)
      assert.deepEqual(d2.json().definition, crmDefinition(), 'a copy of live')
      const def2 = crmDefinition()
      def2.methods.push(createContactMethod() as never)
      assert.equal((await t.call('PUT', `/v1/connectors/${cid}/releases/${d2.json().id}`, { key, body: { definition: def2 } })).statusCode, 200)
      const p2 = await t.call('POST', `/v1/connectors/${cid}/releases/${d2.json().id}/push`, { key, body: { kind: 'minor' } })
      assert.equal(p2.statusCode, 200, p2.body)
      assert.equal(p2.json().version, '1.1')
      const after2 = await releasesOf(cid)
      assert.deepEqual(after2.map((r) => [r.state, r.version]), [['deprecated', '1.0'], ['live', '1.1']])

      const def3 = structuredClone(def2)
      def3.methods = def3.methods.filter((m) => m.id !== 'list-contacts')
      const d3 = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { from: 'live', definition: def3 } })
      assert.equal(d3.statusCode, 201)
      const refused = await t.call('POST', `/v1/connectors/${cid}/releases/${d3.json().id}/push`, { key, body: { kind: 'minor' } })
      assert.equal(refused.statusCode, 409)
      assert.equal(refused.json().error.code, 'BREAKING_MINOR')
      assert.ok(refused.json().error.details.some((c: { type: string; object: string; breaking: boolean }) => c.type === 'removed' && c.object === 'method' && c.breaking))
      assert.match(refused.json().error.message, /list-contacts/)
      assert.deepEqual((await releasesOf(cid)).map((r) => r.state), ['deprecated', 'live', 'draft'], 'nothing changed')

      const p3 = await t.call('POST', `/v1/connectors/${cid}/releases/${d3.json().id}/push`, { key, body: { kind: 'major' } })
      assert.equal(p3.statusCode, 200)
      assert.equal(p3.json().version, '2.0')
      assert.deepEqual((await releasesOf(cid)).map((r) => [r.state, r.version]), [['deprecated', '1.0'], ['deprecated', '1.1'], ['live', '2.0']])

      const history = (await t.call('GET', `/v1/connectors/${cid}/history`, { key })).json().items as Array<{ event: string; version: string | null; actor: string; at: string }>
      assert.deepEqual(
        history.map((h) => h.event),
        ['connector_created', 'draft_created', 'pushed_major', 'draft_created', 'draft_edited', 'pushed_minor', 'deprecated', 'draft_created', 'pushed_major', 'deprecated'],
      )
      assert.ok(history.every((h) => h.actor.startsWith('key_') && !Number.isNaN(Date.parse(h.at))))
      assert.deepEqual(history.filter((h) => h.event.startsWith('pushed')).map((h) => h.version), ['1.0', '1.1', '2.0'])
    })

    test('a breaking minor push goes through with force: true', async () => {
      const cid = await newConnector('Forced')
      const d1 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: crmDefinition() } })).json()
      await t.call('POST', `/v1/connectors/${cid}/releases/${d1.id}/push`, { key, body: { kind: 'minor' } })
      const def = crmDefinition()
      def.methods[1].response.fields.pop()
      const d2 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: def } })).json()
      const res = await t.call('POST', `/v1/connectors/${cid}/releases/${d2.id}/push`, { key, body: { kind: 'minor', force: true } })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().version, '1.1', 'the first push was 1.0 even though it was asked as minor')
      const history = (await t.call('GET', `/v1/connectors/${cid}/history`, { key })).json().items
      assert.equal(history.find((h: { event: string }) => h.event === 'pushed_minor').details.forced, true)
    })

    test('at most one draft; only a draft is editable, deletable or pushable', async () => {
      const cid = await newConnector('Rules')
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: crmDefinition() } })).json()
      const second = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: {} })
      assert.equal(second.statusCode, 409)
      assert.equal(second.json().error.code, 'DRAFT_EXISTS')
      await t.call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { key, body: { kind: 'major' } })

      for (const [m, url, body] of [
        ['PUT', `/v1/connectors/${cid}/releases/${d.id}`, { settings: { comments: 'changed' } }],
        ['DELETE', `/v1/connectors/${cid}/releases/${d.id}`],
        ['POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { kind: 'minor' }],
      ] as Array<[string, string, unknown?]>) {
        const res = await t.call(m, url, { key, body })
        assert.equal(res.statusCode, 409, `${m} ${url}`)
        assert.equal(res.json().error.code, 'RELEASE_NOT_DRAFT')
        assert.match(res.json().error.message, /is live; only a draft/)
      }
      const icon = await t.app.inject({ method: 'PUT', url: `/v1/connectors/${cid}/releases/${d.id}/icon`, headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, payload: makePng() })
      assert.equal(icon.statusCode, 409)
      const live = (await t.call('GET', `/v1/connectors/${cid}/releases/${d.id}`, { key })).json()
      assert.equal(live.settings.comments, 'Contacts', 'live is unchanged')

      const d2 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: {} })).json()
      assert.equal(d2.settings.status, 'Unknown', 'the default status')
      assert.deepEqual(d2.definition, {}, 'an empty draft')
      assert.equal((await t.call('DELETE', `/v1/connectors/${cid}/releases/${d2.id}`, { key })).statusCode, 204)
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/${d2.id}`, { key })).statusCode, 404)
      assert.equal((await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: {} })).statusCode, 201, 'a new draft after deleting')
    })

    test('a draft can copy any release by id', async () => {
      const cid = await newConnector('Copier')
      const d1 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: crmDefinition() } })).json()
      await t.call('POST', `/v1/connectors/${cid}/releases/${d1.id}/push`, { key, body: { kind: 'major' } })
      const def = crmDefinition()
      def.methods.push(createContactMethod() as never)
      const d2 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: def } })).json()
      await t.call('POST', `/v1/connectors/${cid}/releases/${d2.id}/push`, { key, body: { kind: 'minor' } })
      const copy = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { from: d1.id } })
      assert.equal(copy.statusCode, 201)
      assert.equal(copy.json().definition.methods.length, 2, 'the 1.0 definition, not the live 1.1')
      const missing = await t.call('DELETE', `/v1/connectors/${cid}/releases/${copy.json().id}`, { key })
      assert.equal(missing.statusCode, 204)
      const unknown = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { from: 'rel_nope' } })
      assert.equal(unknown.statusCode, 404)
      const noLive = await newConnector('NoLive')
      assert.equal((await t.call('POST', `/v1/connectors/${noLive}/releases`, { key, body: { from: 'live' } })).statusCode, 404)
    })

    test('drafts from YAML and JSON documents, and export back', async () => {
      const cid = await newConnector('Yaml')
      const doc = toYaml({ settings: crmSettings(), definition: crmDefinition() })
      const res = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, payload: doc, headers: { 'content-type': 'application/yaml' } })
      assert.equal(res.statusCode, 201, res.body)
      assert.deepEqual(res.json().definition, crmDefinition())
      const exported = await t.call('GET', `/v1/connectors/${cid}/releases/${res.json().id}/export?format=yaml`, { key })
      assert.equal(exported.headers['content-type'], 'application/yaml')
      assert.match(exported.body, /list-contacts/)
      const upd = await t.call('PUT', `/v1/connectors/${cid}/releases/${res.json().id}`, { key, payload: exported.body, headers: { 'content-type': 'text/yaml' } })
      assert.equal(upd.statusCode, 200)
      const json = await t.call('GET', `/v1/connectors/${cid}/releases/${res.json().id}/export`, { key })
      assert.deepEqual(json.json().definition, crmDefinition())
      const broken = await t.call('PUT', `/v1/connectors/${cid}/releases/${res.json().id}`, { key, payload: 'definition: [unclosed', headers: { 'content-type': 'application/yaml' } })
      assert.equal(broken.statusCode, 400)
      assert.match(broken.json().error.message, /not valid YAML/)
    })

    test('push validates the whole release and lists every problem (422)', async () => {
      const cid = await newConnector('Invalid')
      const def = crmDefinition()
      def.methods.push({ ...createContactMethod(), id: 'get-me' } as never)
      const settings = { ...crmSettings(), postInstallPropertyLookupMethod: 'nope', inboundPageSize: undefined }
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings, definition: def } })).json()
      const res = await t.call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { key, body: { kind: 'major' } })
      assert.equal(res.statusCode, 422)
      assert.equal(res.json().error.code, 'VALIDATION_FAILED')
      const problems = res.json().error.details as Array<{ path: string; message: string }>
      assert.ok(problems.length >= 3, JSON.stringify(problems))
      assert.ok(problems.some((p) => p.path === '/settings/postInstallPropertyLookupMethod'), 'unknown method reference')
      assert.ok(problems.some((p) => p.path.startsWith('/settings/inboundPageSize') || /inboundPageSize/.test(p.message)), 'paging size missing')
      assert.ok(problems.some((p) => p.path.startsWith('/definition/methods/2') && /duplicate|unique/i.test(p.message)), 'duplicate method id')
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/${d.id}`, { key })).json().state, 'draft', 'nothing changed')
    })

    test('a malformed definition is refused at save time, naming every problem', async () => {
      const cid = await newConnector('Malformed')
      const def = { ...crmDefinition(), extra: 1, methods: [{ id: 'bad id', name: 'X', type: 'actio', http: { method: 'GET', path: '/' } }] }
      const res = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Released' }, definition: def } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.code, 'INVALID_DEFINITION')
      const paths = (res.json().error.details as Array<{ path: string }>).map((p) => p.path)
      assert.ok(paths.includes('/settings/status'), paths.join())
      assert.ok(paths.some((p) => p.startsWith('/definition/methods/0/type')), paths.join())
      assert.ok(paths.some((p) => p.startsWith('/definition/methods/0/id')), paths.join())
      assert.ok(res.json().error.details.some((p: { path: string; message: string }) => p.path === '/definition' && /unknown property "extra"/.test(p.message)), JSON.stringify(res.json().error.details))
      assert.match(res.json().error.message, /Released/)
      assert.deepEqual(await releasesOf(cid), [], 'nothing created')
    })

    test('lint reports errors and the recommended standards as warnings', async () => {
      const cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Pipeline v3 API', apiVersion: 'v3' } })).json().id
      const def = crmDefinition()
      def.methods[0].name = 'Me'
      delete (def.methods[0] as { category?: string }).category
      ;(def.methods[1].response.fields[0] as { description?: string }).description = 'x'.repeat(120)
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { ...crmSettings(), postInstallTestAuthMethod: 'missing' }, definition: def } })).json()
      const res = await t.call('GET', `/v1/connectors/${cid}/releases/${d.id}/lint`, { key })
      assert.equal(res.statusCode, 200)
      const { errors, warnings } = res.json() as { errors: Array<{ path: string }>; warnings: Array<{ code: string; path: string }> }
      assert.ok(errors.some((e) => e.path === '/settings/postInstallTestAuthMethod'))
      const codes = warnings.map((w) => w.code)
      for (const expected of ['NAME_HAS_API_VERSION', 'MISSING_DESCRIPTION', 'MISSING_ICON']) assert.ok(codes.includes(expected), `${expected} in ${codes}`)
      assert.ok(warnings.some((w) => w.path.startsWith('/definition/methods/0') && /name/i.test(w.code)), 'method naming')
      assert.ok(warnings.some((w) => w.path.startsWith('/definition/methods/0') && /CATEGORY/.test(w.code)), 'missing category')
      assert.ok(warnings.some((w) => w.path.includes('/response/fields/0') && /DESCRIPTION/.test(w.code)), 'long field description')
    })

    test('diff against live and against another release', async () => {
      const cid = await newConnector('Differ')
      const d1 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: crmDefinition() } })).json()
      const noLive = await t.call('GET', `/v1/connectors/${cid}/releases/${d1.id}/diff`, { key })
      assert.equal(noLive.statusCode, 409)
      await t.call('POST', `/v1/connectors/${cid}/releases/${d1.id}/push`, { key, body: { kind: 'major' } })
      const def = crmDefinition()
      def.methods.push(createContactMethod() as never)
      const d2 = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: def } })).json()
      const additive = (await t.call('GET', `/v1/connectors/${cid}/releases/${d2.id}/diff?against=live`, { key })).json()
      assert.equal(additive.breaking, false)
      assert.equal(additive.suggestedKind, 'minor')
      assert.ok(additive.changes.some((c: { type: string; methodId: string }) => c.type === 'added' && c.methodId === 'create-contact'))
      const reverse = (await t.call('GET', `/v1/connectors/${cid}/releases/${d1.id}/diff?against=${d2.id}`, { key })).json()
      assert.equal(reverse.breaking, true)
      assert.equal(reverse.suggestedKind, 'major')
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/${d2.id}/diff?against=rel_nope`, { key })).statusCode, 404)
    })

    test('a release icon overrides the connector icon, draft only', async () => {
      const cid = await newConnector('IconRel')
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: {} })).json()
      const png = makePng()
      const put = await t.app.inject({ method: 'PUT', url: `/v1/connectors/${cid}/releases/${d.id}/icon`, headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, payload: png })
      assert.equal(put.statusCode, 204)
      const got = await t.call('GET', `/v1/connectors/${cid}/releases/${d.id}/icon`, { key })
      assert.ok(got.rawPayload.equals(png))
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/${d.id}`, { key })).json().hasIcon, true)
      const bad = await t.app.inject({ method: 'PUT', url: `/v1/connectors/${cid}/releases/${d.id}/icon`, headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, payload: makePng(10, 10) })
      assert.equal(bad.statusCode, 400)
    })

    test('the published JSON Schema covers methods, fields, auth, lookups and paging', async () => {
      const res = await t.call('GET', '/v1/schemas/connector-definition.json', { key })
      assert.equal(res.statusCode, 200)
      const schema = res.json()
      for (const prop of ['baseUrl', 'authentications', 'parameters', 'lookups', 'methods', 'paging', 'rateLimits']) assert.ok(schema.properties[prop], prop)
    })
  })
}

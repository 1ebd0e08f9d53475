// Every way to send bad input gets a clear error and changes nothing.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { crmDefinition, crmSettings } from '../helpers/definitions.js'

for (const dialect of dialects()) {
  describe(`bad input [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let cid: string
    before(async () => {
      t = await startTestApp(dialect, { bodyLimitBytes: 64 * 1024 })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Target' } })).json().id
    })
    after(() => t.close())

    const connectorCount = async () => (await t.call('GET', '/v1/connectors', { key })).json().items.length

    test('malformed JSON → 400 INVALID_JSON', async () => {
      const before = await connectorCount()
      const res = await t.call('POST', '/v1/connectors', { key, payload: '{"name": "x",', headers: { 'content-type': 'application/json' } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.code, 'INVALID_JSON')
      assert.equal(await connectorCount(), before)
    })

    test('unknown properties → 400 naming them', async () => {
      const res = await t.call('POST', '/v1/connectors', { key, body: { name: 'x', colour: 'red', size: 2 } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.code, 'BAD_REQUEST')
      const paths = res.json().error.details.map((d: { path: string }) => d.path)
      assert.deepEqual(paths.sort(), ['body.colour', 'body.size'])
      assert.match(res.json().error.message, /unknown property "colour"/)
    })

    test('wrong types are not coerced → 400 naming the field', async () => {
      const res = await t.call('POST', '/v1/connectors', { key, body: { name: 123 } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.details[0].path, 'body.name')
      assert.match(res.json().error.details[0].message, /string/)
      const missing = await t.call('POST', '/v1/connectors', { key, body: {} })
      assert.equal(missing.statusCode, 400)
      assert.equal(missing.json().error.details[0].path, 'body.name')
      assert.match(missing.json().error.details[0].message, /required/)
    })

    test('wrong enum values → 400 listing the allowed values', async () => {
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: crmSettings(), definition: crmDefinition() } })).json()
      const push = await t.call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { key, body: { kind: 'patch' } })
      assert.equal(push.statusCode, 400)
      assert.match(push.json().error.message, /body\.kind: must be one of major, minor/)
      const status = await t.call('PUT', `/v1/connectors/${cid}/releases/${d.id}`, { key, body: { settings: { status: 'Released' } } })
      assert.equal(status.statusCode, 400)
      assert.equal(status.json().error.details[0].path, '/settings/status')
      assert.match(status.json().error.details[0].message, /Unknown, Approved, Beta, Planned/)
      const unchanged = (await t.call('GET', `/v1/connectors/${cid}/releases/${d.id}`, { key })).json()
      assert.equal(unchanged.settings.status, 'Approved')
      assert.equal(unchanged.state, 'draft')
      await t.call('DELETE', `/v1/connectors/${cid}/releases/${d.id}`, { key })
    })

    test('a body over the limit → 413', async () => {
      const res = await t.call('POST', '/v1/connectors', { key, body: { name: 'x', description: 'y'.repeat(100 * 1024) } })
      assert.equal(res.statusCode, 413)
      assert.equal(res.json().error.code, 'PAYLOAD_TOO_LARGE')
    })

    test('a wrong content type → 415', async () => {
      for (const type of ['text/plain', 'application/xml', 'application/yaml']) {
        const res = await t.call('POST', '/v1/connectors', { key, payload: 'name: x', headers: { 'content-type': type } })
        assert.equal(res.statusCode, 415, type)
        assert.equal(res.json().error.code, 'UNSUPPORTED_MEDIA_TYPE')
      }
    })

    test('unknown ids and unknown routes → 404 in the error shape', async () => {
      for (const url of ['/v1/connectors/con_nope', `/v1/connectors/${cid}/releases/rel_nope`, `/v1/connectors/${cid}/releases/rel_nope/lint`, '/v1/nothing-here']) {
        const res = await t.call('GET', url, { key })
        assert.equal(res.statusCode, 404, url)
        assert.equal(res.json().error.code, 'NOT_FOUND')
      }
    })

    test('bad query values → 400', async () => {
      const res = await t.call('GET', '/v1/connectors?limit=0', { key })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.details[0].path, 'querystring.limit')
      const extra = await t.call('GET', '/v1/connectors?colour=red', { key })
      assert.equal(extra.statusCode, 400)
    })

    test('an empty PATCH is refused rather than silently accepted', async () => {
      const res = await t.call('PATCH', `/v1/connectors/${cid}`, { key, body: {} })
      assert.equal(res.statusCode, 400)
    })
  })
}

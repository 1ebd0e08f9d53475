// Scripts of a release through the API: push compiles every script (422 naming the script, with
// line and column; drafts stay savable), and the "test a method" endpoint runs the connector- and
// method-level action events against a real local HTTP server.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'

const KEY = 'sk_push_scripts_a1b2c3d4e5'

const definition = (baseUrl: string, scripts: { connector?: string; method?: string; migrate?: string } = {}) => ({
  baseUrl,
  ...(scripts.connector !== undefined ? { script: scripts.connector } : {}),
  ...(scripts.migrate !== undefined ? { migrations: { migrate_step: scripts.migrate } } : {}),
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    {
      id: 'list-items',
      name: 'List Items',
      category: 'Items',
      type: 'action',
      http: { method: 'GET', path: '/items' },
      parameters: [
        { name: 'after', target: 'query', value: '{{PAGE_TOKEN}}', hidden: true },
        { name: 'Next', target: 'responseField', targetName: 'next', value: '{{PAGE_TOKEN}}', hidden: true },
      ],
      records: 'records',
      response: { fields: [{ location: 'id', field: 'Id' }, { location: 'label', field: 'Label' }] },
      ...(scripts.method !== undefined ? { script: scripts.method } : {}),
    },
  ],
})

const SIGN = `function before_action() {
  var q = [];
  for (var k in method_request_parameters) q.push(k + '=' + encodeURIComponent(method_request_parameters[k]));
  var path = method_endpoint.replace(/^https?:\\/\\/[^/]+/, '') + (q.length ? '?' + q.join('&') : '');
  method_request_headers['X-Timestamp'] = '1700000000';
  method_request_headers['X-Signature'] = cyclr_sign('HMAC-SHA256', method_auth_value, '1700000000\\n' + path);
  return true;
}`

const RESHAPE = `function after_action() {
  var rows = method_response.result.rows;
  method_response = {
    records: rows.map(function (r) { return { id: r[0], label: r[1] + ' (' + script_execution_context + ')' }; }),
    next: method_response.result.has_more ? rows[rows.length - 1][0] : null
  };
  return true;
}`

for (const dialect of dialects()) {
  describe(`release scripts through the API [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let api: TestServer
    let cid: string

    before(async () => {
      const rows = Array.from({ length: 5 }, (_, i) => [`r${i + 1}`, `Row ${i + 1}`])
      api = await startServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x')
        const expected = createHmac('sha256', KEY).update(`1700000000\n${url.pathname}${url.search}`).digest('base64')
        res.setHeader('content-type', 'application/json')
        if (req.headers['x-api-key'] !== KEY || req.headers['x-signature'] !== expected) {
          res.statusCode = 401
          return res.end('{"error":"bad signature"}')
        }
        const afterId = url.searchParams.get('after')
        const start = afterId ? rows.findIndex((r) => r[0] === afterId) + 1 : 0
        res.end(JSON.stringify({ result: { rows: rows.slice(start, start + 2), has_more: start + 2 < rows.length } }))
      })
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true } })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Signed API' } })).json().id
    })
    after(async () => {
      await t.close()
      await api.close()
    })

    let current: string | undefined
    // One draft per connector at a time: the previous one is deleted.
    const draft = async (scripts: { connector?: string; method?: string; migrate?: string }) => {
      if (current) await t.call('DELETE', `/v1/connectors/${cid}/releases/${current}`, { key })
      current = undefined
      const res = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', inboundPaging: true, inboundPageSize: 2 }, definition: definition(api.url, scripts) } })
      assert.equal(res.statusCode, 201, res.body)
      current = res.json().id as string
      return current
    }

    test('the test endpoint runs the release scripts end to end: signed requests, reshaped responses, a script-computed cursor', async () => {
      const rid = await draft({ connector: SIGN, method: RESHAPE })
      const res = await t.call('POST', `/v1/connectors/${cid}/releases/${rid}/methods/list-items/test`, { key, body: { auth: { ApiKey: KEY } } })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json()
      assert.equal(body.ok, true, res.body)
      assert.deepEqual(body.records.map((r: { Id: string }) => r.Id), ['r1', 'r2', 'r3', 'r4', 'r5'])
      assert.equal(body.records[0].Label, 'Row 1 (CONNECTOR_TESTING)')
      assert.equal(api.requests.length, 3)
      assert.deepEqual(api.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('after')), [null, 'r2', 'r4'])
      assert.ok(api.requests.every((r) => typeof r.headers['x-signature'] === 'string' && r.headers['x-timestamp'] === '1700000000'))
      assert.equal(body.requests[0].headers['X-Api-Key'], '[REDACTED]')
      assert.ok(!res.body.includes(KEY), 'the key is never shown')

      // Without the signing script the API refuses: the script really is what signs.
      const unsigned = await draft({ method: RESHAPE })
      const refused = (await t.call('POST', `/v1/connectors/${cid}/releases/${unsigned}/methods/list-items/test`, { key, body: { auth: { ApiKey: KEY } } })).json()
      assert.equal(refused.ok, false)
      assert.equal(refused.error.status, 401)
    })

    test('a throwing script is the test result (kind script, redacted), not a server error', async () => {
      const rid = await draft({ connector: 'function before_action() {\n  throw new Error("no way: " + method_auth_value);\n}' })
      const res = await t.call('POST', `/v1/connectors/${cid}/releases/${rid}/methods/list-items/test`, { key, body: { auth: { ApiKey: KEY } } })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().ok, false)
      assert.equal(res.json().error.kind, 'script')
      assert.match(res.json().error.message, /before_action script failed \(connector level, line 2.*no way: \[REDACTED\]/)
      assert.ok(!res.body.includes(KEY))
    })

    test('push compiles every script: 422 naming the script with line and column; the draft stays savable; fixed, it pushes', async () => {
      const bad = {
        connector: 'function before_action() {\n  return true;\n}\nvar 1x = 2;',
        method: 'function after_action() {\n  var x = ;\n  return true;\n}',
      }
      const rid = await draft(bad)
      const update = await t.call('PUT', `/v1/connectors/${cid}/releases/${rid}`, { key, body: { definition: definition(api.url, bad) } })
      assert.equal(update.statusCode, 200, update.body)
      const push = await t.call('POST', `/v1/connectors/${cid}/releases/${rid}/push`, { key, body: { kind: 'major' } })
      assert.equal(push.statusCode, 422, push.body)
      const details = push.json().error.details as Array<{ path: string; message: string }>
      const connector = details.find((d) => d.path === '/definition/script')
      const method = details.find((d) => d.path === '/definition/methods/0/script')
      assert.ok(connector, JSON.stringify(details))
      assert.ok(method, JSON.stringify(details))
      assert.match(connector.message, /the connector script does not compile: line 4, column \d+: /)
      assert.match(method.message, /the script of method "list-items" does not compile: line 2, column \d+: /)
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/${rid}`, { key })).json().state, 'draft')

      const fixed = await draft({ connector: SIGN, method: RESHAPE })
      const ok = await t.call('POST', `/v1/connectors/${cid}/releases/${fixed}/push`, { key, body: { kind: 'major' } })
      current = undefined
      assert.equal(ok.statusCode, 200, ok.body)
      assert.equal(ok.json().state, 'live')
    })

    test('push compiles the migrate_step upgrade script too', async () => {
      const rid = await draft({ migrate: 'function migrate_step(step) {\n  step.fields.Name = ;\n  return step\n}' })
      const push = await t.call('POST', `/v1/connectors/${cid}/releases/${rid}/push`, { key, body: { kind: 'major' } })
      assert.equal(push.statusCode, 422, push.body)
      const details = push.json().error.details as Array<{ path: string; message: string }>
      assert.deepEqual(details.map((d) => d.path), ['/definition/migrations/migrate_step'])
      assert.match(details[0].message, /^the migrate_step script does not compile: line 2, column \d+: /)
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/releases/${rid}`, { key })).json().state, 'draft')
    })
  })
}

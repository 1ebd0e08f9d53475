// Webhook triggers end to end (SPEC §6): a cycle whose trigger is a webhook method gets its own
// URL; deliveries (JSON, form, XML, text) become transactions, split per record, persisted with
// their jobs before the 202; inactive cycles, oversized and unsupported bodies are refused.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

interface Crm {
  server: TestServer
  created: Array<Record<string, unknown>>
}

async function startCrm(): Promise<Crm> {
  const crm: Crm = { server: undefined as never, created: [] }
  crm.server = await startServer((req, res, body) => {
    res.setHeader('content-type', 'application/json')
    if (req.headers['x-api-key'] !== 'secret-key-123') {
      res.statusCode = 401
      return res.end('{"error":"bad key"}')
    }
    if (req.url === '/me') return res.end('{"id":"u1"}')
    if (req.method === 'POST' && req.url === '/notes') {
      crm.created.push(JSON.parse(body))
      res.statusCode = 201
      return res.end(JSON.stringify({ id: `n${crm.created.length}` }))
    }
    res.statusCode = 404
    res.end('{}')
  })
  return crm
}

const definition = (baseUrl: string) => ({
  baseUrl,
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' } },
    {
      id: 'contact-created',
      name: 'Contact Created',
      category: 'Contacts',
      type: 'webhook',
      records: 'contacts',
      response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }] },
    },
    { id: 'xml-contacts', name: 'Contacts Changed', category: 'Contacts', type: 'webhook', records: 'root.contacts', response: { fields: [{ location: 'id', field: 'ContactId' }] } },
    {
      id: 'scripted',
      name: 'Scripted Hook',
      category: 'Contacts',
      type: 'webhook',
      response: { fields: [{ location: 'id', field: 'Id' }, { location: 'note', field: 'Note' }] },
      script: [
        'function before_webhook() { if (method_request.challenge) { method_response = { challenge: method_request.challenge }; statusCode = 200; return false } }',
        'function after_webhook() { if (method_response.skip) return false; method_response.note = "seen by " + method_request_headers["x-sender"] }',
      ].join('\n'),
    },
    { id: 'anything', name: 'Anything Received', category: 'Contacts', type: 'webhook', response: { fields: [{ location: 'name', field: 'Name' }, { location: 'body', field: 'Body' }, { location: 'contact.name', field: 'XmlName' }] } },
    {
      id: 'create-note',
      name: 'Create Note',
      category: 'Notes',
      type: 'action',
      http: { method: 'POST', path: '/notes' },
      request: { format: 'json', fields: [{ location: 'text', field: 'Text' }] },
      response: { fields: [{ location: 'id', field: 'NoteId' }] },
    },
  ],
})

for (const dialect of dialects()) {
  describe(`webhook triggers end to end [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let crm: Crm
    let cid: string
    let aid: string

    before(async () => {
      crm = await startCrm()
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true }, webhookBodyLimitBytes: 4096 })
      await t.services.engine.start({ concurrency: 2 })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', postInstallTestAuthMethod: 'get-me' }, definition: definition(crm.server.url) } })).json()
      const pushed = await t.call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { key, body: { kind: 'major' } })
      assert.equal(pushed.statusCode, 200, pushed.body)
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-1' } })).json().id
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: 'secret-key-123' } } })
      assert.equal(ac.statusCode, 201, ac.body)
    })
    after(async () => {
      await t?.close()
      await crm?.server.close()
    })

    const newCycle = async (methodId: string, text: string) => {
      const steps = [
        { key: 'hook', type: 'trigger', connector: { connectorId: cid, methodId } },
        { key: 'note', type: 'action', connector: { connectorId: cid, methodId: 'create-note' }, fields: { Text: { type: 'template', value: text } } },
      ]
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Hooked', steps } })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cyc = await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })
      assert.equal(cyc.statusCode, 201, cyc.body)
      return cyc.json() as { id: string; steps: Array<{ key: string; webhookId?: string; webhookUrl?: string }> }
    }
    const activate = async (cycle: { id: string }) => {
      const act = await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/activate`, { key, body: {} })
      assert.equal(act.statusCode, 200, act.body)
      assert.equal(act.json().status, 'active')
    }
    const deliver = (webhookId: string, payload: string, contentType = 'application/json') => t.app.inject({ method: 'POST', url: `/hooks/${webhookId}`, headers: { 'content-type': contentType }, payload })
    const transactions = async (cycle: { id: string }) => (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/transactions?limit=500`, { key })).json().items as Array<{ id: string; status: string; error: string | null }>
    const settled = (cycle: { id: string }, n: number) => until(`${n} settled transactions`, async () => {
      const items = await transactions(cycle)
      return items.length === n && items.every((x) => ['succeeded', 'failed', 'stopped'].includes(x.status)) && items
    })

    test('the webhook trigger step shows an unguessable URL, stable across activations', async () => {
      const cycle = await newCycle('contact-created', 'x')
      const hook = cycle.steps[0]!
      assert.match(hook.webhookId ?? '', /^wh_[A-Za-z0-9_-]{43}$/)
      assert.equal(hook.webhookUrl, `/hooks/${hook.webhookId}`)
      assert.equal(cycle.steps[1]!.webhookId, undefined)
      await activate(cycle)
      const view = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).json()
      assert.equal(view.steps[0].webhookId, hook.webhookId)
    })

    test('a JSON delivery with a record array makes one transaction per record, persisted before the 202', async () => {
      crm.created.length = 0
      const cycle = await newCycle('contact-created', 'new {{hook.ContactId}} {{hook.Email}}')
      await activate(cycle)
      const res = await deliver(cycle.steps[0]!.webhookId!, JSON.stringify({ contacts: [{ id: 'c1', email: 'a@x.io' }, { id: 'c2', email: 'b@x.io' }, { id: 'c3', email: 'c@x.io' }] }))
      assert.equal(res.statusCode, 202, res.body)
      assert.equal(res.json().transactions, 3)
      assert.equal(res.json().status, 'accepted')
      // Persisted before the answer: the delivery and its transactions are there already.
      const deliveries = await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/webhook-deliveries`, { key })
      assert.equal(deliveries.statusCode, 200, deliveries.body)
      assert.equal(deliveries.json().items.length, 1)
      assert.equal(deliveries.json().items[0].transactions, 3)
      const items = await settled(cycle, 3)
      assert.ok(items.every((x) => x.status === 'succeeded'), JSON.stringify(items))
      assert.deepEqual(crm.created.map((c) => c.text).sort(), ['new c1 a@x.io', 'new c2 b@x.io', 'new c3 c@x.io'])
    })

    test('form, XML and plain-text deliveries become transactions too', async () => {
      crm.created.length = 0
      const cycle = await newCycle('anything', '{{hook.Name}}{{hook.Body}}{{hook.XmlName}}')
      const id = cycle.steps[0]!.webhookId!
      await activate(cycle)
      assert.equal((await deliver(id, 'name=form-ann&x=1', 'application/x-www-form-urlencoded')).statusCode, 202)
      assert.equal((await deliver(id, '<?xml version="1.0"?><contact><name>xml-bob</name></contact>', 'application/xml; charset=utf-8')).json().transactions, 1)
      assert.equal((await deliver(id, 'just text', 'text/plain')).statusCode, 202)
      const xmlCycle = await newCycle('xml-contacts', 'xml {{hook.ContactId}}')
      await activate(xmlCycle)
      const xml = await deliver(xmlCycle.steps[0]!.webhookId!, '<root><contacts><id>x1</id><email>e1</email></contacts><contacts><id>x2</id><email>e2</email></contacts></root>', 'text/xml')
      assert.equal(xml.json().transactions, 2, xml.body)
      await settled(cycle, 3)
      await settled(xmlCycle, 2)
      const texts = crm.created.map((c) => c.text).sort()
      assert.ok(texts.includes('form-ann') && texts.includes('just text') && texts.includes('xml x1') && texts.includes('xml x2'), JSON.stringify(texts))
      assert.ok(texts.includes('xml-bob'), JSON.stringify(texts))
    })

    test('a delivery without records is kept as ignored and runs nothing', async () => {
      const cycle = await newCycle('contact-created', 'x')
      await activate(cycle)
      const res = await deliver(cycle.steps[0]!.webhookId!, JSON.stringify({ contacts: [] }))
      assert.equal(res.statusCode, 202)
      assert.deepEqual({ status: res.json().status, transactions: res.json().transactions }, { status: 'ignored', transactions: 0 })
      assert.equal((await transactions(cycle)).length, 0)
    })

    test('unknown URL → 404, paused cycle → 410 and nothing is recorded or run', async () => {
      assert.equal((await deliver('wh_nope', '{}')).statusCode, 404)
      const cycle = await newCycle('contact-created', 'x')
      const id = cycle.steps[0]!.webhookId!
      const paused = await deliver(id, JSON.stringify({ contacts: [{ id: 'c1' }] }))
      assert.equal(paused.statusCode, 410, paused.body)
      assert.equal(paused.json().error.code, 'WEBHOOK_INACTIVE')
      await activate(cycle)
      await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/deactivate`, { key, body: {} })
      assert.equal((await deliver(id, JSON.stringify({ contacts: [{ id: 'c1' }] }))).statusCode, 410)
      assert.equal((await transactions(cycle)).length, 0)
      assert.equal((await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/webhook-deliveries`, { key })).json().items.length, 0)
    })

    test('oversized → 413, unsupported type → 415, malformed JSON/XML → 400; no API key is needed', async () => {
      const cycle = await newCycle('contact-created', 'x')
      const id = cycle.steps[0]!.webhookId!
      await activate(cycle)
      const big = await deliver(id, JSON.stringify({ contacts: [{ id: 'x'.repeat(5000) }] }))
      assert.equal(big.statusCode, 413, big.body)
      assert.equal(big.json().error.code, 'PAYLOAD_TOO_LARGE')
      const png = await deliver(id, 'xx', 'image/png')
      assert.equal(png.statusCode, 415, png.body)
      assert.equal(png.json().error.code, 'UNSUPPORTED_MEDIA_TYPE')
      assert.equal((await deliver(id, '{"contacts": [', 'application/json')).statusCode, 400)
      assert.equal((await deliver(id, '<a><b></a>', 'application/xml')).statusCode, 400)
      assert.equal((await transactions(cycle)).length, 0)
      assert.equal((await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/webhook-deliveries`, { key })).json().items.length, 0)
    })

    test('before_webhook can answer the caller itself; after_webhook can filter and change the delivery', async () => {
      crm.created.length = 0
      const cycle = await newCycle('scripted', '{{hook.Id}} {{hook.Note}}')
      const id = cycle.steps[0]!.webhookId!
      await activate(cycle)
      const challenge = await deliver(id, JSON.stringify({ challenge: 'abc123' }))
      assert.equal(challenge.statusCode, 200, challenge.body)
      assert.deepEqual(challenge.json(), { challenge: 'abc123' })
      const skipped = await deliver(id, JSON.stringify({ id: 's1', skip: true }))
      assert.equal(skipped.statusCode, 202)
      assert.deepEqual({ status: skipped.json().status, transactions: skipped.json().transactions }, { status: 'ignored', transactions: 0 })
      const ok = await t.app.inject({ method: 'POST', url: `/hooks/${id}`, headers: { 'content-type': 'application/json', 'x-sender': 'crm' }, payload: JSON.stringify({ id: 's2' }) })
      assert.equal(ok.json().transactions, 1, ok.body)
      await settled(cycle, 1)
      assert.deepEqual(crm.created.map((c) => c.text), ['s2 seen by crm'])
      const list = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/webhook-deliveries`, { key })).json().items
      assert.deepEqual(list.map((d: { status: string; detail: string | null }) => [d.status, d.detail]), [['accepted', null], ['ignored', 'after_webhook returned false']])
    })

    test('a change made elsewhere (another process) is seen at once, though the routing is cached', async () => {
      const cycle = await newCycle('anything', 'x')
      const id = cycle.steps[0]!.webhookId!
      await activate(cycle)
      assert.equal((await deliver(id, '{"name":"a"}')).statusCode, 202) // routing now cached
      const db = t.services.store.db
      // Straight in the database, as another process would: no invalidation reaches this one.
      await db.updateTable('cycles').set({ status: 'paused' }).where('id', '=', cycle.id).execute()
      assert.equal((await deliver(id, '{"name":"b"}')).statusCode, 410)
      await db.updateTable('cycles').set({ status: 'active' }).where('id', '=', cycle.id).execute()
      await db.updateTable('cycle_steps').set({ method_id: 'contact-created' }).where('cycle_id', '=', cycle.id).where('position', '=', 0).execute()
      const res = await deliver(id, JSON.stringify({ contacts: [{ id: 'c9', email: 'z@x.io' }, { id: 'c10', email: 'y@x.io' }] }))
      assert.equal(res.json().transactions, 2, 're-routed to the new method (its records location)')
      await db.deleteFrom('webhook_endpoints').where('id', '=', id).execute()
      assert.equal((await deliver(id, '{"name":"c"}')).statusCode, 404)
      const list = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/webhook-deliveries`, { key })).json().items
      assert.equal(list.length, 2, 'the refused deliveries were not recorded')
      await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/deactivate`, { key, body: {} })
    })

    test('deliveries are listable per connector', async () => {
      const res = await t.call('GET', `/v1/connectors/${cid}/webhook-deliveries?limit=500`, { key })
      assert.equal(res.statusCode, 200, res.body)
      assert.ok(res.json().items.length >= 5)
      assert.ok(res.json().items.every((d: { connectorId: string }) => d.connectorId === cid))
    })
  })
}

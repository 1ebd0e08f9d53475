// The singular partner webhook URL (SPEC §6): one URL per partner and connector; deliveries are
// routed by a key matched with an account connector property, filtered per webhook method by event
// type, fanned out to every matching cycle; unmatched ones are kept; signatures and duplicates.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'

const SECRET = 'whsec-0123456789'

const definition = (baseUrl: string) => ({
  baseUrl,
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  parameters: [
    { name: 'PortalId', target: 'mergeField', scope: 'account' },
    { name: 'SigningSecret', target: 'mergeField', scope: 'partner', sensitive: true },
  ],
  webhookRouting: {
    key: { location: 'portalId' },
    match: { property: 'PortalId' },
    signature: { header: 'X-Signature', algorithm: 'sha256', prefix: 'sha256=', secretProperty: 'SigningSecret' },
    dedupe: { header: 'X-Delivery-Id' },
  },
  methods: [
    { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' } },
    { id: 'deal-created', name: 'Deal Created', category: 'Deals', type: 'webhook', records: 'events', response: { fields: [{ location: 'objectId', field: 'DealId' }] }, webhook: { eventType: { location: 'type', values: ['deal.created'] } } },
    { id: 'deal-any', name: 'Deal Changed', category: 'Deals', type: 'webhook', records: 'events', response: { fields: [{ location: 'objectId', field: 'DealId' }] } },
  ],
})

for (const dialect of dialects()) {
  describe(`singular partner webhook URL [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let pid: string
    let server: TestServer
    let cid: string
    const cycles: Record<string, string> = {}

    before(async () => {
      server = await startServer((req, res) => {
        res.setHeader('content-type', 'application/json')
        res.end(req.headers['x-api-key'] === 'k' ? '{"id":"u1"}' : '{}')
      })
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true } })
      await t.services.engine.start({ concurrency: 2 })
      const partner = await t.newPartner()
      key = partner.apiKey
      pid = partner.id
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Deals' } })).json().id
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', useSingularPartnerWebhookUrl: true }, definition: definition(server.url) } })
      assert.equal(d.statusCode, 201, d.body)
      const pushed = await t.call('POST', `/v1/connectors/${cid}/releases/${d.json().id}/push`, { key, body: { kind: 'major' } })
      assert.equal(pushed.statusCode, 200, pushed.body)
      assert.equal((await t.call('PUT', `/v1/connectors/${cid}/properties`, { key, body: { properties: { SigningSecret: SECRET } } })).statusCode, 200)
      // Two accounts on portal p1 (one with two cycles), one on p2.
      for (const [name, portal, methods] of [['A', 'p1', ['deal-created', 'deal-any']], ['B', 'p1', ['deal-any']], ['C', 'p2', ['deal-any']]] as const) {
        const aid = (await t.call('POST', '/v1/accounts', { key, body: { name } })).json().id
        const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: 'k' }, properties: { PortalId: portal } } })
        assert.equal(ac.statusCode, 201, ac.body)
        for (const methodId of methods) {
          const tpl = await t.call('POST', '/v1/templates', { key, body: { name: `${name} ${methodId}`, steps: [{ key: 'hook', type: 'trigger', connector: { connectorId: cid, methodId } }] } })
          assert.equal(tpl.statusCode, 201, tpl.body)
          const cyc = (await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })).json()
          const act = await t.call('PUT', `/v1/accounts/${aid}/cycles/${cyc.id}/activate`, { key, body: {} })
          assert.equal(act.statusCode, 200, act.body)
          cycles[`${name}:${methodId}`] = cyc.id
        }
      }
    })
    after(async () => {
      await t?.close()
      await server?.close()
    })

    const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`
    const deliver = (body: object, headers: Record<string, string> = {}) => {
      const payload = JSON.stringify(body)
      return t.app.inject({ method: 'POST', url: `/hooks/partners/${pid}/connectors/${cid}`, headers: { 'content-type': 'application/json', 'x-signature': sign(payload), ...headers }, payload })
    }
    const txCount = async (cycleId: string) => (await t.services.store.db.selectFrom('transactions').select('id').where('cycle_id', '=', cycleId).execute()).length

    test('a delivery fans out to every matching cycle of every matching account, filtered by event type', async () => {
      const res = await deliver({ portalId: 'p1', type: 'deal.created', events: [{ objectId: 'd1' }, { objectId: 'd2' }] })
      assert.equal(res.statusCode, 202, res.body)
      assert.deepEqual({ cycles: res.json().cycles, transactions: res.json().transactions }, { cycles: 3, transactions: 6 })
      assert.equal(await txCount(cycles['A:deal-created']!), 2)
      assert.equal(await txCount(cycles['A:deal-any']!), 2)
      assert.equal(await txCount(cycles['B:deal-any']!), 2)
      assert.equal(await txCount(cycles['C:deal-any']!), 0)
      // Another event type skips the filtered method.
      const upd = await deliver({ portalId: 'p1', type: 'deal.updated', events: [{ objectId: 'd3' }] })
      assert.equal(upd.json().cycles, 2)
      assert.equal(await txCount(cycles['A:deal-created']!), 2)
      const perCycle = (await t.call('GET', `/v1/accounts/x/cycles/${cycles['A:deal-any']}/webhook-deliveries`, { key }))
      assert.equal(perCycle.statusCode, 404)
    })

    test('a delivery that matches no account is kept as unmatched and listable', async () => {
      const res = await deliver({ portalId: 'p9', type: 'deal.created', events: [{ objectId: 'd1' }] })
      assert.equal(res.statusCode, 202, res.body)
      assert.deepEqual({ status: res.json().status, cycles: res.json().cycles }, { status: 'unmatched', cycles: 0 })
      const list = (await t.call('GET', `/v1/connectors/${cid}/webhook-deliveries?status=unmatched`, { key })).json().items
      assert.equal(list.length, 1)
      assert.match(list[0].body, /p9/)
      assert.match(list[0].detail, /p9/)
    })

    test('bad or missing signatures are 401 and nothing is recorded or run', async () => {
      const before = (await t.call('GET', `/v1/connectors/${cid}/webhook-deliveries`, { key })).json().items.length
      const bad = await deliver({ portalId: 'p2', events: [{ objectId: 'x' }] }, { 'x-signature': 'sha256=00' })
      assert.equal(bad.statusCode, 401, bad.body)
      assert.equal(bad.json().error.code, 'WEBHOOK_SIGNATURE_INVALID')
      const payload = JSON.stringify({ portalId: 'p2', events: [{ objectId: 'x' }] })
      const missing = await t.app.inject({ method: 'POST', url: `/hooks/partners/${pid}/connectors/${cid}`, headers: { 'content-type': 'application/json' }, payload })
      assert.equal(missing.statusCode, 401)
      assert.equal(await txCount(cycles['C:deal-any']!), 0)
      assert.equal((await t.call('GET', `/v1/connectors/${cid}/webhook-deliveries`, { key })).json().items.length, before)
    })

    test('a repeated delivery id is acknowledged once and runs once', async () => {
      const body = { portalId: 'p2', events: [{ objectId: 'once' }] }
      const first = await deliver(body, { 'x-delivery-id': 'evt-1' })
      assert.equal(first.statusCode, 202, first.body)
      const again = await deliver(body, { 'x-delivery-id': 'evt-1' })
      assert.equal(again.statusCode, 200, again.body)
      assert.equal(again.json().duplicate, true)
      assert.equal(again.json().id, first.json().id)
      assert.equal(await txCount(cycles['C:deal-any']!), 1)
    })

    test('before_webhook (connector level) runs before the routing; after_webhook runs per routed cycle', async () => {
      const scripted = {
        ...definition(server.url),
        webhookRouting: { key: { location: 'portalId' }, match: { property: 'PortalId' } },
        script: 'function before_webhook() { if (method_request.challenge) { method_response = { challenge: method_request.challenge }; return false } method_request.portalId = method_request.portal }',
      }
      scripted.methods = scripted.methods.map((m) => (m.id === 'deal-any' ? { ...m, script: 'function after_webhook() { if (method_response.skip) return false; method_response.events.forEach(function (e) { e.objectId = e.objectId + "!" }) }' } : m))
      const scid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Scripted deals' } })).json().id
      const d = await t.call('POST', `/v1/connectors/${scid}/releases`, { key, body: { settings: { status: 'Approved', useSingularPartnerWebhookUrl: true }, definition: scripted } })
      assert.equal(d.statusCode, 201, d.body)
      assert.equal((await t.call('POST', `/v1/connectors/${scid}/releases/${d.json().id}/push`, { key, body: { kind: 'major' } })).statusCode, 200)
      const aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'D' } })).json().id
      assert.equal((await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: scid, auth: { ApiKey: 'k' }, properties: { PortalId: 'p5' } } })).statusCode, 201)
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'D any', steps: [{ key: 'hook', type: 'trigger', connector: { connectorId: scid, methodId: 'deal-any' } }] } })
      const cyc = (await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })).json()
      assert.equal((await t.call('PUT', `/v1/accounts/${aid}/cycles/${cyc.id}/activate`, { key, body: {} })).statusCode, 200)
      const post = (body: object) => t.app.inject({ method: 'POST', url: `/hooks/partners/${pid}/connectors/${scid}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
      const listed = async () => (await t.call('GET', `/v1/connectors/${scid}/webhook-deliveries`, { key })).json().items as Array<{ status: string; detail: string }>

      const handshake = await post({ challenge: 'c-42' })
      assert.equal(handshake.statusCode, 200, handshake.body)
      assert.deepEqual(handshake.json(), { challenge: 'c-42' })
      assert.equal((await listed()).length, 0, 'a handshake answered by before_webhook is not recorded')

      const ok = await post({ portal: 'p5', events: [{ objectId: 'a' }] })
      assert.equal(ok.statusCode, 202, ok.body)
      assert.deepEqual({ cycles: ok.json().cycles, transactions: ok.json().transactions }, { cycles: 1, transactions: 1 })
      const tx = await t.services.store.db.selectFrom('transactions').select('trigger_data').where('cycle_id', '=', cyc.id).executeTakeFirstOrThrow()
      assert.deepEqual(JSON.parse(tx.trigger_data), { DealId: 'a!' })

      const skipped = await post({ portal: 'p5', skip: true, events: [{ objectId: 'b' }] })
      assert.equal(skipped.statusCode, 202, skipped.body)
      assert.deepEqual({ status: skipped.json().status, cycles: skipped.json().cycles, transactions: skipped.json().transactions }, { status: 'ignored', cycles: 1, transactions: 0 })
      const perCycle = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cyc.id}/webhook-deliveries`, { key })).json().items
      assert.deepEqual(perCycle.map((x: { status: string; detail: string | null }) => [x.status, x.detail]), [['ignored', 'after_webhook returned false'], ['accepted', null]])
    })

    test('a connector without the singular URL setting has no partner URL', async () => {
      const other = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Other' } })).json().id
      const res = await t.app.inject({ method: 'POST', url: `/hooks/partners/${pid}/connectors/${other}`, headers: { 'content-type': 'application/json' }, payload: '{}' })
      assert.equal(res.statusCode, 404)
    })
  })
}

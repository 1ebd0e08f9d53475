// Webhook subscriptions (SPEC §6): activating a webhook cycle calls the method's createMethod with
// `{{Webhook_Url}}` and keeps `Webhook_Id`; deactivation, deletion and deauthentication call the
// deleteMethod; a failed subscription is an incident and the cycle is not active.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'

const PUBLIC_URL = 'https://plexus.test'

interface Api {
  server: TestServer
  subscribed: Array<{ id: string; url: string }>
  deleted: string[]
  /** status for the next POST /subscriptions */
  subscribeStatus: number
}

async function startApi(): Promise<Api> {
  const api: Api = { server: undefined as never, subscribed: [], deleted: [], subscribeStatus: 201 }
  api.server = await startServer((req, res, body) => {
    res.setHeader('content-type', 'application/json')
    if (req.headers['x-api-key'] !== 'secret-key-123') {
      res.statusCode = 401
      return res.end('{"error":"bad key"}')
    }
    if (req.url === '/me') return res.end('{"id":"u1"}')
    if (req.method === 'POST' && req.url === '/subscriptions') {
      res.statusCode = api.subscribeStatus
      if (res.statusCode >= 300) return res.end('{"error":"no"}')
      const id = `h${api.subscribed.length + 1}`
      api.subscribed.push({ id, url: JSON.parse(body).target })
      return res.end(JSON.stringify({ data: { hookId: id } }))
    }
    const m = /^\/subscriptions\/(.+)$/.exec(req.url ?? '')
    if (req.method === 'DELETE' && m) {
      api.deleted.push(m[1]!)
      res.statusCode = 204
      return res.end()
    }
    res.statusCode = 404
    res.end('{}')
  })
  return api
}

const definition = (baseUrl: string) => ({
  baseUrl,
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' } },
    { id: 'subscribe', name: 'Create Subscription', category: 'Hooks', type: 'action', hidden: true, http: { method: 'POST', path: '/subscriptions' }, parameters: [{ name: 'target', target: 'body', value: '{{Webhook_Url}}', scope: 'fixed', hidden: true }] },
    { id: 'unsubscribe', name: 'Delete Subscription', category: 'Hooks', type: 'action', hidden: true, http: { method: 'DELETE', path: '/subscriptions/{{Webhook_Id}}' } },
    {
      id: 'deal-won',
      name: 'Deal Won',
      category: 'Deals',
      type: 'webhook',
      response: { fields: [{ location: 'id', field: 'DealId' }] },
      webhook: { createMethod: 'subscribe', deleteMethod: 'unsubscribe', webhookIdLocation: 'data.hookId' },
    },
  ],
})

for (const dialect of dialects()) {
  describe(`webhook subscriptions [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let api: Api
    let cid: string
    let aid: string
    let acid: string

    before(async () => {
      api = await startApi()
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true, publicUrl: PUBLIC_URL } })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Deals' } })).json().id
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', postInstallTestAuthMethod: 'get-me' }, definition: definition(api.server.url) } })).json()
      const pushed = await t.call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { key, body: { kind: 'major' } })
      assert.equal(pushed.statusCode, 200, pushed.body)
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Initech', externalId: 'ini-1' } })).json().id
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: 'secret-key-123' } } })
      assert.equal(ac.statusCode, 201, ac.body)
      acid = ac.json().id
    })
    after(async () => {
      await t?.close()
      await api?.server.close()
    })

    const newCycle = async () => {
      const steps = [{ key: 'won', type: 'trigger', connector: { connectorId: cid, methodId: 'deal-won' } }]
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Won deals', steps } })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cyc = await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })
      assert.equal(cyc.statusCode, 201, cyc.body)
      return cyc.json() as { id: string; steps: Array<{ webhookId: string; webhookUrl: string }> }
    }
    const activate = (id: string) => t.call('PUT', `/v1/accounts/${aid}/cycles/${id}/activate`, { key, body: {} })
    const deliver = (webhookId: string) => t.app.inject({ method: 'POST', url: `/hooks/${webhookId}`, headers: { 'content-type': 'application/json' }, payload: '{"id":"d1"}' })

    test('activation subscribes with the URL; deactivation and deletion unsubscribe with the id', async () => {
      const cycle = await newCycle()
      const { webhookId, webhookUrl } = cycle.steps[0]!
      assert.equal(webhookUrl, `${PUBLIC_URL}/hooks/${webhookId}`)
      const act = await activate(cycle.id)
      assert.equal(act.statusCode, 200, act.body)
      assert.equal(act.json().status, 'active')
      assert.deepEqual(api.subscribed.at(-1), { id: 'h1', url: webhookUrl })
      assert.equal((await deliver(webhookId)).statusCode, 202)

      await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/deactivate`, { key, body: {} })
      assert.deepEqual(api.deleted, ['h1'])
      assert.equal((await deliver(webhookId)).statusCode, 410)

      assert.equal((await activate(cycle.id)).statusCode, 200)
      assert.equal(api.subscribed.at(-1)!.id, 'h2')
      assert.equal((await t.call('DELETE', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).statusCode, 204)
      assert.deepEqual(api.deleted, ['h1', 'h2'])
      assert.equal((await deliver(webhookId)).statusCode, 404)
    })

    test('a failed subscription is an incident and the cycle is not active', async () => {
      const cycle = await newCycle()
      api.subscribeStatus = 500
      const act = await activate(cycle.id)
      api.subscribeStatus = 201
      assert.equal(act.statusCode, 502, act.body)
      assert.equal(act.json().error.code, 'WEBHOOK_SUBSCRIPTION_FAILED')
      const view = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).json()
      assert.equal(view.status, 'error')
      assert.match(view.statusReason, /subscription/)
      const incidents = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/incidents`, { key })).json().items
      assert.ok(incidents.some((i: { message: string }) => /subscription failed/.test(i.message)), JSON.stringify(incidents))
      assert.equal((await deliver(cycle.steps[0]!.webhookId)).statusCode, 410)
      // Once the API accepts it, activation succeeds.
      assert.equal((await activate(cycle.id)).json().status, 'active')
      await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/deactivate`, { key, body: {} })
    })

    test('deauthenticating the account connector unsubscribes (with the credentials still valid) and pauses', async () => {
      const cycle = await newCycle()
      assert.equal((await activate(cycle.id)).statusCode, 200)
      const hook = api.subscribed.at(-1)!.id
      const res = await t.call('POST', `/v1/accounts/${aid}/connectors/${acid}/deauthenticate`, { key })
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(api.deleted.at(-1), hook)
      const view = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).json()
      assert.equal(view.status, 'paused')
    })
  })
}

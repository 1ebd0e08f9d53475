// An active cycle upgraded while a transaction runs (SPEC §7, issue 8): the transaction in flight
// finishes on the release it started with; the next one uses the new release. Release 1.0 creates
// contacts at POST /contacts, release 2.0 at POST /v2/contacts, so the API sees which one ran.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

const definition = (baseUrl: string, createPath: string) => ({
  baseUrl,
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' }, response: { fields: [{ location: 'id', field: 'UserId' }] } },
    {
      id: 'list-contacts',
      name: 'List Contacts',
      category: 'Contacts',
      type: 'action',
      http: { method: 'GET', path: '/contacts' },
      records: 'data',
      response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }] },
    },
    {
      id: 'create-contact',
      name: 'Create Contact',
      category: 'Contacts',
      type: 'action',
      http: { method: 'POST', path: createPath },
      request: { format: 'json', fields: [{ location: 'email', field: 'Email' }] },
      response: { fields: [{ location: 'id', field: 'NewId' }] },
    },
  ],
})

for (const dialect of dialects()) {
  describe(`upgrading an active cycle while it runs [${dialect}]`, () => {
    let t: TestApp
    let api: TestServer
    let key: string
    let cid: string
    let aid: string
    /** the next POST waits for this before answering */
    let gate: Promise<void> | undefined
    let posts: string[] = []

    before(async () => {
      api = await startServer(async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://x')
        res.setHeader('content-type', 'application/json')
        if (url.pathname === '/me') return res.end('{"id":"u1"}')
        if (req.method === 'GET' && url.pathname === '/contacts') return res.end(JSON.stringify({ data: [{ id: 'c1', email: 'ann@example.com' }] }))
        if (req.method === 'POST') {
          posts.push(url.pathname)
          const wait = gate
          gate = undefined
          if (wait) await wait
          res.statusCode = 201
          return res.end(JSON.stringify({ id: `n${posts.length}` }))
        }
        res.statusCode = 404
        res.end('{}')
      })
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true } })
      await t.services.engine.start({ concurrency: 2 })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      await push('/contacts')
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-run' } })).json().id
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: 'k' } } })
      assert.equal(ac.statusCode, 201, ac.body)
    })
    after(async () => {
      await t.close()
      await api.close()
    })

    const push = async (createPath: string) => {
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', postInstallTestAuthMethod: 'get-me' }, definition: definition(api.url, createPath) } })
      assert.equal(d.statusCode, 201, d.body)
      const p = await t.call('POST', `/v1/connectors/${cid}/releases/${d.json().id}/push`, { key, body: { kind: 'major' } })
      assert.equal(p.statusCode, 200, p.body)
      return p.json() as { id: string; version: string }
    }
    const transactions = async (yid: string) => (await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}/transactions?limit=50`, { key })).json().items as Array<{ id: string; status: string }>

    test('the transaction in flight finishes on its release; the next one uses the new release', async () => {
      const create = (k: string) => ({ key: k, type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } } })
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Sync', steps: [{ key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } }, create('first'), create('second')] } })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const yid = (await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })).json().id as string

      // the first transaction's first POST is held until the upgrade is done
      let open!: () => void
      gate = new Promise<void>((r) => (open = r))
      posts = []
      const act = await t.call('PUT', `/v1/accounts/${aid}/cycles/${yid}/activate`, { key, body: { interval: 60 } })
      assert.equal(act.statusCode, 200, act.body)
      await until('the first transaction to be in its first step', async () => posts.length === 1)

      const v2 = await push('/v2/contacts')
      const upgraded = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/upgrade`, { key, body: {} })
      assert.equal(upgraded.statusCode, 200, upgraded.body)
      assert.deepEqual({ upgraded: upgraded.json().upgraded, paused: upgraded.json().paused }, { upgraded: true, paused: false })
      const cycle = (await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}`, { key })).json()
      assert.equal(cycle.status, 'active', 'a runnable cycle stays active')
      assert.ok(cycle.steps.every((s: { release: { id: string } }) => s.release.id === v2.id))

      open()
      const [first] = await until('the first transaction to finish', async () => {
        const items = await transactions(yid)
        return items.length === 1 && items[0].status === 'succeeded' && items
      })
      assert.deepEqual(posts, ['/contacts', '/contacts'], 'both steps of the running transaction used release 1.0')

      posts = []
      // the next scheduled poll (enqueued as the schedule does, not through runNow, which would
      // invalidate the engine's cycle cache itself): the upgrade already told the engine
      await t.services.queue.enqueue('cycle.poll', { cycleId: yid }, { jobKey: `poll:${yid}` })
      await until('the second transaction to finish', async () => {
        const items = await transactions(yid)
        return items.length === 2 && items.every((x) => x.status === 'succeeded') && items
      })
      assert.deepEqual(posts, ['/v2/contacts', '/v2/contacts'], 'the next transaction runs on release 2.0')
      assert.ok(first)
    })

    test('a transaction waiting in a delay across an upgrade resumes on the release it started with', async () => {
      const create = (k: string) => ({ key: k, type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } } })
      const steps = [{ key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } }, create('before'), { key: 'wait', type: 'delay', delay: { amount: 1, unit: 'seconds' } }, create('after')]
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Sync with a delay', steps } })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const yid = (await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })).json().id as string
      const from = (await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}`, { key })).json().steps[1].release.version as string

      posts = []
      assert.equal((await t.call('PUT', `/v1/accounts/${aid}/cycles/${yid}/activate`, { key, body: { interval: 60 } })).statusCode, 200)
      await until('the first transaction to wait in its delay', async () => {
        const items = await transactions(yid)
        return items.length === 1 && items[0].status === 'waiting' && items
      })
      assert.equal(posts.length, 1)

      const next = await push(`/v${Number(from.split('.')[0]) + 1}/contacts`)
      const upgraded = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/upgrade`, { key, body: {} })
      assert.equal(upgraded.json().upgraded, true, upgraded.body)
      assert.ok((await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}`, { key })).json().steps.every((s: { type: string; release?: { id: string } }) => s.type === 'delay' || s.release?.id === next.id))

      await until('the waiting transaction to finish', async () => {
        const items = await transactions(yid)
        return items.length === 1 && items[0].status === 'succeeded' && items
      })
      const oldPath = posts[0]
      assert.deepEqual(posts, [oldPath, oldPath], 'the step after the delay ran on the release the transaction started with')

      posts = []
      await t.services.queue.enqueue('cycle.poll', { cycleId: yid }, { jobKey: `poll:${yid}` })
      await until('the next transaction to finish', async () => {
        const items = await transactions(yid)
        return items.length === 2 && items.every((x) => x.status === 'succeeded') && items
      })
      const newPath = `/v${Number(next.version.split('.')[0])}/contacts`
      assert.notEqual(newPath, oldPath)
      assert.deepEqual(posts, [newPath, newPath], 'a transaction started after the upgrade runs on the new release')
    })
  })
}

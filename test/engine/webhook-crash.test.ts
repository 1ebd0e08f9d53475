// Crash safety of webhook ingestion (issue 7): the server process is SIGKILLed while a load of
// deliveries is in flight. A 2xx is sent only once the delivery, its transaction and its job are
// committed, so after a restart every delivery that got a 2xx is processed exactly once: one
// succeeded transaction, one call to the target API. Deliveries cut off by the kill (no 2xx) may
// or may not have been committed; none of them runs twice either.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'

const API_KEY = 'crash-key-0123456789'
const DELIVERIES = 4000
const CONNECTIONS = 32
/** the kill comes once this many deliveries were acknowledged */
const KILL_AFTER = 600

const definition = (baseUrl: string) => ({
  baseUrl,
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' } },
    { id: 'event', name: 'Event Received', category: 'Events', type: 'webhook', response: { fields: [{ location: 'id', field: 'EventId' }] } },
    { id: 'create-item', name: 'Create Item', category: 'Items', type: 'action', http: { method: 'POST', path: '/items' }, request: { format: 'json', fields: [{ location: 'ref', field: 'Ref' }] }, response: { fields: [{ location: 'id', field: 'ItemId' }] } },
  ],
})

interface Server {
  child: ChildProcess
  port: Promise<number>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

const fixture = fileURLToPath(new URL('./fixtures/webhook-server.ts', import.meta.url))

function spawnServer(config: Record<string, unknown>): Server {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', fixture, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const port = new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m?.type === 'listening' && resolve(m.port!))
    void exited.then(({ code, signal }) => reject(new Error(`server exited before listening (code ${code}, signal ${signal}):\n${out}`)))
  })
  port.catch(() => {})
  return { child, port, exited }
}

for (const dialect of dialects()) {
  describe(`webhook ingestion crash safety [${dialect}]`, { timeout: 120_000 }, () => {
    const secretKey = randomBytes(32)
    let t: TestApp
    let api: TestServer
    /** POST /items calls by ref (the delivery's id) */
    const calls = new Map<string, number>()
    const servers: Server[] = []

    before(async () => {
      api = await startServer((req, res, body) => {
        res.setHeader('content-type', 'application/json')
        if (req.headers['x-api-key'] !== API_KEY) {
          res.statusCode = 401
          return res.end('{}')
        }
        if (req.url === '/me') return res.end('{"id":"me"}')
        if (req.method === 'POST' && req.url === '/items') {
          const ref = (JSON.parse(body) as { ref: string }).ref
          calls.set(ref, (calls.get(ref) ?? 0) + 1)
          res.statusCode = 201
          return res.end(JSON.stringify({ id: `item-${ref}` }))
        }
        res.statusCode = 404
        res.end('{}')
      })
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true, secretKey } })
    })
    after(async () => {
      for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL')
      await Promise.all(servers.map((s) => s.exited))
      await t?.close()
      await api?.close()
    })

    const server = (engine: boolean) => {
      const s = spawnServer({ databaseUrl: t.db.url, ...(t.db.schema ? { schema: t.db.schema, workerSchema: `${t.db.schema}_gw` } : {}), secretKey: secretKey.toString('base64'), engine })
      servers.push(s)
      return s
    }

    test('every delivery acknowledged before a SIGKILL is processed exactly once after the restart', async (ctx) => {
      const key = (await t.newPartner()).apiKey
      const cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Events' } })).json().id
      const draft = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', postInstallTestAuthMethod: 'get-me' }, definition: definition(api.url) } })
      assert.equal(draft.statusCode, 201, draft.body)
      assert.equal((await t.call('POST', `/v1/connectors/${cid}/releases/${draft.json().id}/push`, { key, body: { kind: 'major' } })).statusCode, 200)
      const aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex' } })).json().id
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: API_KEY } } })
      assert.equal(ac.json().authenticated, true, ac.body)
      const steps = [
        { key: 'hook', type: 'trigger', connector: { connectorId: cid, methodId: 'event' } },
        { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-item' }, fields: { Ref: { type: 'step', step: 'hook', field: 'EventId' } } },
      ]
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Copy events', steps } })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cycle = (await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })).json()
      assert.equal((await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/activate`, { key, body: {} })).json().status, 'active')
      const path = `/hooks/${cycle.steps[0].webhookId}`

      // 1. A server without the engine takes a load of deliveries and is killed in the middle.
      const first = server(false)
      const pool = new Pool(`http://127.0.0.1:${await first.port}`, { connections: CONNECTIONS })
      const acked = new Set<string>()
      let next = 0
      let failed = 0
      let killed = false
      const sender = async () => {
        while (next < DELIVERIES) {
          const id = `ev-${next++}`
          try {
            const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, pad: 'x'.repeat(500) }) })
            await res.body.dump()
            if (res.statusCode >= 200 && res.statusCode < 300) acked.add(id)
            else failed++
          } catch {
            failed++ // cut off by the kill
          }
          if (!killed && acked.size >= KILL_AFTER) {
            killed = true
            first.child.kill('SIGKILL')
          }
        }
      }
      await Promise.all(Array.from({ length: CONNECTIONS }, sender))
      await pool.destroy()
      assert.equal((await first.exited).signal, 'SIGKILL')
      assert.ok(acked.size >= KILL_AFTER && acked.size < DELIVERIES, `acknowledged ${acked.size} of ${DELIVERIES}`)
      assert.ok(failed > 0, 'some deliveries were cut off by the kill')

      // 2. Restarted with the engine: the backlog drains.
      const db = t.services.store.db
      const committed = async () => (await db.selectFrom('webhook_deliveries').select('id').where('cycle_id', '=', cycle.id).execute()).length
      const stored = await committed()
      assert.ok(stored >= acked.size, `${stored} deliveries stored, ${acked.size} acknowledged`)
      const second = server(true)
      await second.port
      const deadline = Date.now() + 90_000
      for (;;) {
        const open = await db.selectFrom('transactions').select('id').where('cycle_id', '=', cycle.id).where('status', 'not in', ['succeeded', 'failed', 'stopped']).execute()
        if (open.length === 0) break
        if (Date.now() > deadline) throw new Error(`${open.length} transactions still open`)
        await sleep(100)
      }

      // 3. Every acknowledged delivery ran exactly once; nothing ran twice.
      const txs = await db.selectFrom('transactions').select(['status', 'trigger_data']).where('cycle_id', '=', cycle.id).execute()
      assert.equal(txs.length, stored, 'one transaction per stored delivery')
      assert.ok(txs.every((x) => x.status === 'succeeded'), 'every transaction succeeded')
      const byEvent = new Map<string, number>()
      for (const x of txs) {
        const id = (JSON.parse(x.trigger_data) as { EventId: string }).EventId
        byEvent.set(id, (byEvent.get(id) ?? 0) + 1)
      }
      for (const id of acked) {
        assert.equal(byEvent.get(id), 1, `${id}: one succeeded transaction`)
        assert.equal(calls.get(id), 1, `${id}: one call to the target API`)
      }
      assert.ok([...byEvent.values()].every((n) => n === 1), 'no delivery was stored twice')
      assert.ok([...calls.values()].every((n) => n === 1), 'no call was made twice')
      assert.equal(calls.size, stored)

      ctx.diagnostic(`${acked.size} acknowledged, ${failed} cut off, ${stored} stored (${stored - acked.size} committed without their 2xx), each run once`)
      second.child.kill('SIGTERM')
      assert.equal((await second.exited).code, 0)
    })
  })
}

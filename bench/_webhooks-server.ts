// Child process of bench/webhooks.ts: serves Plexus (real SQLite file) with one active
// webhook-triggered cycle, and a bare fastify route answering 202 without persisting.
// Messages: 'drain' starts the engine and reports how fast the backlog is processed; 'stop'.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { buildApp } from '../src/api/build-app.js'
import { createServices } from '../src/services/services.js'

const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-wh-'))
const services = await createServices({ databaseUrl: `sqlite:${join(dir, 'plexus.db')}`, adminToken: 'bench-admin' })
const app = await buildApp({ services })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

const json = async (method: string, path: string, key: string, body?: unknown) => {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
  const out = (await res.json()) as any
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(out)}`)
  return out
}
const key = (await json('POST', '/v1/partners', 'bench-admin', { name: 'Bench' })).apiKey as string
const cid = (await json('POST', '/v1/connectors', key, { name: 'Hooks' })).id
const definition = {
  baseUrl: 'https://api.example.com',
  authentications: [{ id: 'k', name: 'Key', type: 'apiKey', in: 'header', header: 'X-Key', default: true }],
  methods: [{ id: 'event', name: 'Event Received', category: 'Events', type: 'webhook', response: { fields: [{ location: 'id', field: 'EventId' }] } }],
}
const d = await json('POST', `/v1/connectors/${cid}/releases`, key, { settings: { status: 'Approved' }, definition })
await json('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, key, { kind: 'major' })
const aid = (await json('POST', '/v1/accounts', key, { name: 'Bench account' })).id
await json('POST', `/v1/accounts/${aid}/connectors`, key, { connectorId: cid, auth: { ApiKey: 'x' } })
const tid = (await json('POST', '/v1/templates', key, { name: 'Hooked', steps: [{ key: 'hook', type: 'trigger', connector: { connectorId: cid, methodId: 'event' } }] })).id
const cycle = await json('POST', `/v1/templates/${tid}/install`, key, { accountId: aid })
await json('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/activate`, key, {})
const webhookUrl = base + cycle.steps[0].webhookUrl

const bare = Fastify()
bare.post('/hook', async (_req, reply) => reply.status(202).send({ ok: true }))
await bare.listen({ port: 0, host: '127.0.0.1' })
const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/hook`

const count = async (table: 'webhook_deliveries' | 'transactions', status?: string) => {
  let q = services.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'))
  if (status) q = q.where('status', '=', status as never)
  return Number((await q.executeTakeFirstOrThrow()).n)
}

process.send?.({ webhookUrl, bareUrl })
process.on('message', async (m) => {
  if (m === 'count') process.send?.({ deliveries: await count('webhook_deliveries'), transactions: await count('transactions') })
  if (m === 'drain') {
    const total = await count('transactions')
    const started = Date.now()
    await services.engine.start({ concurrency: 4 })
    while ((await count('transactions', 'succeeded')) < total) await new Promise((r) => setTimeout(r, 200))
    process.send?.({ drained: total, ms: Date.now() - started })
  }
  if (m === 'stop') {
    await app.close()
    await bare.close()
    await services.close()
    process.exit(0)
  }
})

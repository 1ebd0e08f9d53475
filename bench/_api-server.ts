// Child process of bench/api.ts: serves Plexus (real SQLite file, real auth) and a bare fastify
// route returning the same JSON, on two ports, so the load generator runs in another process.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { buildApp } from '../src/api/build-app.js'
import { createServices } from '../src/services/services.js'

const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-'))
// argv[2]: a PostgreSQL URL to measure the scale-out mode (fresh schema), else a SQLite file
const pgUrl = process.argv[2]
let schema: string | undefined
if (pgUrl) {
  const pg = (await import('pg')).default
  schema = `bench_${Date.now()}`
  const c = new pg.Client({ connectionString: pgUrl })
  await c.connect()
  await c.query(`create schema ${schema}`)
  await c.end()
}
const services = await createServices({ databaseUrl: pgUrl ?? `sqlite:${join(dir, 'plexus.db')}`, adminToken: 'bench-admin' }, { db: { schema } })
const app = await buildApp({ services })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

const json = async (method: string, path: string, key: string, body?: unknown) => {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
  return res.json() as Promise<any>
}
const partner = await json('POST', '/v1/partners', 'bench-admin', { name: 'Bench' })
const key = partner.apiKey as string
// Some noise: other partners and connectors, so the scoped queries have something to skip.
for (let i = 0; i < 20; i++) {
  const p = await json('POST', '/v1/partners', 'bench-admin', { name: `Other ${i}` })
  for (let j = 0; j < 5; j++) await json('POST', '/v1/connectors', p.apiKey, { name: `C${j}` })
}
const connector = await json('POST', '/v1/connectors', key, { name: 'Bench CRM', description: 'bench' })
const definition = { baseUrl: 'https://api.example.com', authentications: [{ id: 'k', name: 'Key', type: 'apiKey', in: 'header', header: 'X-Key' }], methods: [{ id: 'get-me', name: 'Get Me', type: 'action', http: { method: 'GET', path: '/me' } }] }
for (let i = 0; i < 3; i++) {
  const d = await json('POST', `/v1/connectors/${connector.id}/releases`, key, { settings: { status: 'Approved', comments: `release ${i}` }, definition })
  await json('POST', `/v1/connectors/${connector.id}/releases/${d.id}/push`, key, { kind: 'major' })
}
await json('POST', `/v1/connectors/${connector.id}/releases`, key, { from: 'live' })
const path = `/v1/connectors/${connector.id}/releases`
const sample = await (await fetch(base + path, { headers: { authorization: `Bearer ${key}` } })).text()

const bare = Fastify()
bare.get('/releases', async (_req, reply) => reply.type('application/json').send(sample))
await bare.listen({ port: 0, host: '127.0.0.1' })
const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/releases`

process.send?.({ plexusUrl: base + path, bareUrl, key, bytes: sample.length })
process.on('message', async (m) => {
  if (m === 'stop') {
    await app.close()
    await bare.close()
    await services.close()
    if (pgUrl && schema) {
      const pg = (await import('pg')).default
      const c = new pg.Client({ connectionString: pgUrl })
      await c.connect()
      await c.query(`drop schema ${schema} cascade`)
      await c.end()
    }
    process.exit(0)
  }
})

// `plexus worker` as a real process (bin/plexus.js): beside an API process that runs no engine, it
// takes the queue's jobs from the shared database, runs a cycle's transactions against a local API,
// and stops cleanly on SIGTERM (exit code 0, the queue released).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

const API_KEY = 'worker-key-0123456789'
const RECORDS = 12
const bin = fileURLToPath(new URL('../../bin/plexus.js', import.meta.url))

const release = (baseUrl: string) => ({
  settings: { status: 'Approved', inboundPaging: true, inboundPageSize: 5, postInstallTestAuthMethod: 'get-me' },
  definition: {
    baseUrl,
    authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
    methods: [
      { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' }, response: { fields: [{ location: 'id', field: 'UserId' }] } },
      {
        id: 'list-records',
        name: 'List Records',
        category: 'Records',
        type: 'action',
        http: { method: 'GET', path: '/records' },
        parameters: [
          { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
          { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
        ],
        records: 'data',
        response: { fields: [{ location: 'id', field: 'RecordId' }] },
      },
      {
        id: 'create-item',
        name: 'Create Item',
        category: 'Items',
        type: 'action',
        http: { method: 'POST', path: '/items' },
        request: { format: 'json', fields: [{ location: 'ref', field: 'Ref' }, { location: 'pid', field: 'Pid', optional: true }] },
        response: { fields: [{ location: 'id', field: 'ItemId' }] },
      },
    ],
  },
})

describe('plexus worker (a real process)', { timeout: 90_000 }, () => {
  const secretKey = randomBytes(32)
  let t: TestApp
  let api: TestServer
  let dir: string
  const posts: string[] = []

  before(async () => {
    api = await startServer((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x')
      res.setHeader('content-type', 'application/json')
      if (req.headers['x-api-key'] !== API_KEY) {
        res.statusCode = 401
        return res.end('{}')
      }
      if (url.pathname === '/me') return res.end('{"id":"me"}')
      if (req.method === 'GET' && url.pathname === '/records') {
        const from = (Number(url.searchParams.get('page')) - 1) * Number(url.searchParams.get('per_page'))
        const n = Math.max(0, Math.min(Number(url.searchParams.get('per_page')), RECORDS - from))
        return res.end(JSON.stringify({ data: Array.from({ length: n }, (_, i) => ({ id: `r${from + i + 1}` })) }))
      }
      if (req.method === 'POST' && url.pathname === '/items') {
        posts.push(JSON.parse(body).ref)
        res.statusCode = 201
        return res.end(JSON.stringify({ id: `item-${posts.length}` }))
      }
      res.statusCode = 404
      res.end('{}')
    })
    // The API side: no engine in this process, so only the worker can run the jobs.
    t = await startTestApp('sqlite', { config: { allowPrivateNetwork: true, secretKey } })
    dir = mkdtempSync(join(tmpdir(), 'plexus-worker-'))
  })
  after(async () => {
    await t.close()
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('runs a cycle’s jobs from the shared database and exits 0 on SIGTERM', async () => {
    const { apiKey: key } = await t.newPartner()
    const aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex' } })).json().id
    const cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Records API' } })).json().id
    const draft = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: release(api.url) })
    assert.equal(draft.statusCode, 201, draft.body)
    assert.equal((await t.call('POST', `/v1/connectors/${cid}/releases/${draft.json().id}/push`, { key, body: { kind: 'major' } })).statusCode, 200)
    assert.equal((await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: API_KEY } } })).json().authenticated, true)
    const steps = [
      { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-records' } },
      { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-item' }, fields: { Ref: { type: 'step', step: 'trigger', field: 'RecordId' } } },
    ]
    const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Copy records', steps } })
    assert.equal(tpl.statusCode, 201, tpl.body)
    const cycle = await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })
    assert.deepEqual(cycle.json().prerequisites, [])
    const yid = cycle.json().id
    // Queued before any worker exists: the job waits in the database.
    assert.equal((await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/run`, { key })).statusCode, 202)
    assert.equal(posts.length, 0)

    const child = spawn(process.execPath, ['--no-node-snapshot', bin, 'worker'], {
      env: {
        ...process.env,
        PLEXUS_DATABASE_URL: t.db.url,
        PLEXUS_SECRET_KEY: secretKey.toString('base64'),
        PLEXUS_ADMIN_TOKEN: ADMIN_TOKEN,
        PLEXUS_DATA_DIR: dir,
        PLEXUS_ALLOW_PRIVATE_NETWORK: '1',
        PLEXUS_WORKER_CONCURRENCY: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    try {
      await until('the worker to start', () => {
        if (child.exitCode !== null) throw new Error(`worker exited early:\n${out}`)
        return /plexus worker running on sqlite/.test(out)
      }, 30_000)
      const succeeded = async () =>
        Number((await t.services.store.db.selectFrom('transactions').select((eb) => eb.fn.countAll().as('n')).where('cycle_id', '=', yid).where('status', '=', 'succeeded').executeTakeFirstOrThrow()).n)
      await until(`${RECORDS} transactions to succeed (worker output:\n${out})`, async () => (await succeeded()) === RECORDS, 30_000)
      assert.deepEqual([...posts].sort(), Array.from({ length: RECORDS }, (_, i) => `r${i + 1}`).sort())

      child.kill('SIGTERM')
      assert.deepEqual(await exited, { code: 0, signal: null }, out)
      const stats = await t.services.queue.stats()
      assert.equal(stats.running, 0, 'no job is left leased by the stopped worker')
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  })
})

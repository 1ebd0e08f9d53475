// Crash safety of the run engine with real processes (issue 6): a worker process SIGKILLed in the
// middle of a run loses no transaction (after a restart every one succeeds), on SQLite and on
// PostgreSQL; and, on PostgreSQL, two worker processes share 1 000 transactions and none runs
// twice.
//
// Delivery is at-least-once: a step that was in the middle of its HTTP call when the worker died
// runs again after the restart (its POST may arrive twice). Everything else resumes where it was:
// progress is saved after every step, and a finished transaction is never run again.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

const API_KEY = 'crash-key-0123456789'

interface Api {
  server: TestServer
  /** the `ref` of every POST /items that arrived, in arrival order (also ones cut off by a crash) */
  posts: string[]
  /** records served by GET /records */
  records: number
  postDelayMs: number
}

/** GET /records?page&per_page: `records` records; POST /items answers after `postDelayMs`. */
async function startApi(records: number, postDelayMs: number): Promise<Api> {
  const api: Api = { server: undefined as never, posts: [], records, postDelayMs }
  api.server = await startServer(async (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (req.headers['x-api-key'] !== API_KEY) {
      res.statusCode = 401
      return res.end('{}')
    }
    if (url.pathname === '/me') return res.end('{"id":"me"}')
    if (req.method === 'GET' && url.pathname === '/records') {
      const page = Number(url.searchParams.get('page'))
      const size = Number(url.searchParams.get('per_page'))
      const from = (page - 1) * size
      const data = Array.from({ length: Math.max(0, Math.min(size, api.records - from)) }, (_, i) => ({ id: `r${from + i + 1}`, n: from + i + 1 }))
      return res.end(JSON.stringify({ data }))
    }
    if (req.method === 'POST' && url.pathname === '/items') {
      const item = JSON.parse(body) as { ref: string }
      api.posts.push(item.ref)
      if (api.postDelayMs) await sleep(api.postDelayMs)
      res.statusCode = 201
      return res.end(JSON.stringify({ id: `item-${item.ref}` }))
    }
    res.statusCode = 404
    res.end('{}')
  })
  return api
}

const release = (baseUrl: string, pageSize: number) => ({
  settings: { status: 'Approved', inboundPaging: true, inboundPageSize: pageSize, postInstallTestAuthMethod: 'get-me' },
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
        response: { fields: [{ location: 'id', field: 'RecordId' }, { location: 'n', field: 'Number' }] },
      },
      {
        id: 'create-item',
        name: 'Create Item',
        category: 'Items',
        type: 'action',
        http: { method: 'POST', path: '/items' },
        request: { format: 'json', fields: [{ location: 'ref', field: 'Ref' }, { location: 'label', field: 'Label', optional: true }] },
        response: { fields: [{ location: 'id', field: 'ItemId' }] },
      },
    ],
  },
})

interface Worker {
  readonly child: ChildProcess
  readonly loaded: Promise<void>
  readonly ready: Promise<void>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** The transactions this process finished, from its own metrics. */
  stats(): Promise<{ pid: number; started: number; succeeded: number; failed: number }>
  output(): string
}

const fixture = fileURLToPath(new URL('./fixtures/engine-worker.ts', import.meta.url))

function spawnWorker(config: Record<string, unknown>): Worker {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', fixture, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const message = (expected: string) => {
    const p = new Promise<void>((resolve, reject) => {
      child.on('message', (m) => m === expected && resolve())
      void exited.then(({ code, signal }) => reject(new Error(`worker exited before '${expected}' (code ${code}, signal ${signal}):\n${out}`)))
    })
    p.catch(() => {})
    return p
  }
  return {
    child,
    loaded: message('loaded'),
    ready: message('ready'),
    exited,
    output: () => out,
    stats: () =>
      new Promise((resolve) => {
        const on = (m: unknown) => {
          if (typeof m !== 'object' || (m as { type?: string }).type !== 'stats') return
          child.off('message', on)
          resolve(m as never)
        }
        child.on('message', on)
        child.send('stats')
      }),
  }
}

/** SIGTERM, and a clean exit (the worker finished its running jobs and closed). */
async function terminate(w: Worker): Promise<void> {
  w.child.kill('SIGTERM')
  const { code, signal } = await w.exited
  assert.equal(code, 0, `worker exit code ${code} signal ${signal}:\n${w.output()}`)
}

for (const dialect of dialects()) {
  describe(`run engine crash safety [${dialect}]`, { timeout: 240_000 }, () => {
    const secretKey = randomBytes(32)
    let t: TestApp
    let key: string
    let aid: string
    const apis: Api[] = []
    const workers: Worker[] = []

    before(async () => {
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true, secretKey } })
      key = (await t.newPartner()).apiKey
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex' } })).json().id
    })
    after(async () => {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL')
      await Promise.all(workers.map((w) => w.exited))
      await t.close()
      for (const a of apis) await a.server.close()
    })

    const workerConfig = (extra: Record<string, unknown>) => ({ databaseUrl: t.db.url, ...(t.db.schema ? { schema: t.db.schema, workerSchema: `${t.db.schema}_gw` } : {}), secretKey: secretKey.toString('base64'), ...extra })
    const worker = (extra: Record<string, unknown>) => {
      const w = spawnWorker(workerConfig(extra))
      workers.push(w)
      return w
    }

    /** A connector on its own API, installed in the account, and a paused cycle: trigger → POST. */
    async function newCycle(api: Api, pageSize: number): Promise<string> {
      const cid = (await t.call('POST', '/v1/connectors', { key, body: { name: `API ${apis.length}` } })).json().id
      const draft = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: release(api.server.url, pageSize) })
      assert.equal(draft.statusCode, 201, draft.body)
      assert.equal((await t.call('POST', `/v1/connectors/${cid}/releases/${draft.json().id}/push`, { key, body: { kind: 'major' } })).statusCode, 200)
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: API_KEY } } })
      assert.equal(ac.json().authenticated, true, ac.body)
      const steps = [
        { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-records' } },
        { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-item' }, fields: { Ref: { type: 'step', step: 'trigger', field: 'RecordId' }, Label: { type: 'template', value: 'record {{trigger.Number}} of {{AccountId}}' } } },
      ]
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Copy records', steps } })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cycle = await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })
      assert.deepEqual(cycle.json().prerequisites, [])
      return cycle.json().id
    }

    const runNow = async (yid: string) => assert.equal((await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/run`, { key })).statusCode, 202)
    const txRows = (yid: string) => t.services.store.db.selectFrom('transactions').select(['id', 'status', 'trigger_data']).where('cycle_id', '=', yid).execute()
    const succeeded = async (yid: string) => Number((await t.services.store.db.selectFrom('transactions').select((eb) => eb.fn.countAll().as('n')).where('cycle_id', '=', yid).where('status', '=', 'succeeded').executeTakeFirstOrThrow()).n)

    test('a worker SIGKILLed mid-run: after a restart every transaction succeeds, none is lost', async () => {
      const RECORDS = 80
      const CONCURRENCY = 4
      const api = await startApi(RECORDS, 100) // 100 ms per POST: 80 transactions take ≥ 2 s on 4 slots
      apis.push(api)
      const yid = await newCycle(api, 20)
      const first = worker({ concurrency: CONCURRENCY, leaseMs: 1000 })
      // The restarted worker loads meanwhile; its engine starts after the crash.
      const second = worker({ concurrency: CONCURRENCY, leaseMs: 1000, waitForStart: true })
      await first.ready
      await runNow(yid)

      // Kill once the trigger has made every transaction (and its job is gone, so the firing is
      // not re-run) and the worker is well into them, with many still queued or running.
      await until(
        'the worker to be mid-run',
        async () => {
          if (api.posts.length < 12) return false
          const rows = await txRows(yid)
          if (rows.length !== RECORDS) return false
          if ((await t.services.queue.listJobs({ task: 'cycle.poll' })).length) return false
          return rows.filter((r) => r.status === 'succeeded').length < RECORDS - 20
        },
        20_000,
        10,
      )
      first.child.kill('SIGKILL')
      assert.equal((await first.exited).signal, 'SIGKILL')

      const atCrash = await txRows(yid)
      const doneAtCrash = atCrash.filter((r) => r.status === 'succeeded').length
      assert.equal(atCrash.length, RECORDS, 'the trigger made one transaction per record')
      assert.ok(doneAtCrash > 0 && doneAtCrash < RECORDS, `the crash happened mid-run (${doneAtCrash} of ${RECORDS} done)`)
      const refOf = (r: { trigger_data: string }) => (JSON.parse(r.trigger_data) as { RecordId: string }).RecordId
      // Cut off by the crash: a transaction marked running, or one whose POST had arrived but that
      // had not succeeded. (The runner writes the `running` mark alongside its first step, not
      // before it: on a busy machine a step's call can arrive before its transaction is marked.)
      // The first worker is dead and the second not started: every POST so far is the first's.
      const postsAtCrash = api.posts.length
      const succeededAtCrash = new Set(atCrash.filter((r) => r.status === 'succeeded').map(refOf))
      const interrupted = new Set([...atCrash.filter((r) => r.status === 'running').map(refOf), ...api.posts.filter((ref) => !succeededAtCrash.has(ref))])
      assert.ok(interrupted.size > 0, 'transactions were running when the worker died')

      await second.loaded
      second.child.send('start')
      await second.ready
      await until('every transaction to succeed', async () => (await succeeded(yid)) === RECORDS, 30_000, 50)
      await until('the queue to drain', async () => {
        const s = await t.services.queue.stats()
        return s.queued + s.delayed + s.running + s.failed === 0
      }, 10_000)
      const restarted = await second.stats()
      await terminate(second)

      // The transactions table: the same transactions, every one succeeded, none lost or added.
      const final = await txRows(yid)
      assert.equal(final.length, RECORDS)
      assert.deepEqual(new Set(final.map((r) => r.id)), new Set(atCrash.map((r) => r.id)))
      assert.ok(final.every((r) => r.status === 'succeeded'))
      assert.deepEqual(new Set(final.map(refOf)), new Set(Array.from({ length: RECORDS }, (_, i) => `r${i + 1}`)))
      // The restarted worker finished exactly the ones the crash left unfinished.
      assert.equal(restarted.succeeded, RECORDS - doneAtCrash)
      assert.equal(restarted.failed, 0)

      // The API: every record's POST arrived at least once. At-least-once: only a step cut off in
      // the middle of its call (a transaction `running` at the crash) may have been sent twice.
      assert.deepEqual(new Set(api.posts), new Set(final.map(refOf)))
      const counts = new Map<string, number>()
      for (const ref of api.posts) counts.set(ref, (counts.get(ref) ?? 0) + 1)
      const twice = [...counts].filter(([, n]) => n > 1).map(([ref]) => ref)
      assert.ok(counts.size === RECORDS && [...counts.values()].every((n) => n <= 2))
      assert.ok(twice.every((ref) => interrupted.has(ref)), `only interrupted steps ran twice: ${twice.join(', ')} ⊆ ${[...interrupted].join(', ')}`)
      assert.ok(twice.length <= CONCURRENCY)
      assert.equal(api.posts.length, RECORDS + twice.length)
      assert.ok(postsAtCrash < api.posts.length, 'the restarted worker made the remaining calls')
      console.log(`# [${dialect}] killed with ${doneAtCrash}/${RECORDS} done and ${interrupted.size} running; ${twice.length} step(s) ran twice after the restart`)

      // Each transaction's step log: at least one succeeded run of the action.
      const runs = await t.services.store.db.selectFrom('step_runs').select(['transaction_id', 'status']).where('cycle_id', '=', yid).execute()
      const ok = new Set(runs.filter((r) => r.status === 'succeeded').map((r) => r.transaction_id))
      assert.equal(ok.size, RECORDS)
    })

    if (dialect === 'postgres') {
      test('two worker processes share 1 000 transactions and none runs twice', async () => {
        const RECORDS = 1000
        const api = await startApi(RECORDS, 0)
        apis.push(api)
        const yid = await newCycle(api, 100)
        const a = worker({ concurrency: 8, leaseMs: 5000 })
        const b = worker({ concurrency: 8, leaseMs: 5000 })
        await Promise.all([a.ready, b.ready])
        const t0 = Date.now()
        await runNow(yid)
        await until('1 000 succeeded transactions', async () => (await succeeded(yid)) === RECORDS, 120_000, 50)
        const elapsed = Date.now() - t0
        const [sa, sb] = await Promise.all([a.stats(), b.stats()])
        await terminate(a)
        await terminate(b)

        const rows = await txRows(yid)
        assert.equal(rows.length, RECORDS, 'one transaction per record, the trigger fired once')
        assert.ok(rows.every((r) => r.status === 'succeeded'))
        assert.equal(api.posts.length, RECORDS, 'exactly 1 000 POSTs')
        assert.equal(new Set(api.posts).size, RECORDS, '1 000 distinct records, no duplicates')
        const runs = await t.services.store.db.selectFrom('step_runs').select(['transaction_id']).where('cycle_id', '=', yid).execute()
        assert.equal(runs.length, RECORDS, 'one step run per transaction')
        assert.equal(sa.succeeded + sb.succeeded, RECORDS, 'each transaction was finished by one process')
        assert.ok(sa.succeeded > 0 && sb.succeeded > 0, `both workers did work: ${sa.succeeded} / ${sb.succeeded}`)
        assert.equal(sa.started + sb.started, RECORDS, 'and started by one process')
        console.log(`# 1 000 transactions on two PostgreSQL worker processes: ${elapsed} ms (${sa.succeeded} / ${sb.succeeded})`)
      })
    }
  })
}

// npm run bench -- engine
// The run engine end to end, embedded mode (SQLite, the built-in queue, in process): 20 000
// transactions of a three-step cycle — a polling trigger's record (paged GET) → a decision step
// on it → a POST whose fields reshape it (a step mapping, a `{{merge field}}` template and an
// inline `=` script run in the sandbox) — against a plain loop doing the same work by hand in the
// same run: the paged GET, then per record a JSON reshape, an undici POST and one SQLite insert
// per step. Target: ≥ 1 000 transactions/s on this 2-core machine, and ≥ 30 % of the plain loop.
// Also measured: the same cycle without the inline script (template/step mappings only), and
// PostgreSQL + graphile-worker (one process) when PLEXUS_TEST_DATABASE_URL is set.
//
// The target API runs in a child process (this file with --target), so it has its own core.
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import SQLite from 'better-sqlite3'
import pg from 'pg'
import { Agent, request } from 'undici'
import { buildApp } from '../src/api/build-app.js'
import { createServices, type Services } from '../src/services/services.js'
import { machine, report } from './_report.js'

const SQLSTATS = new Map<string, { n: number; ms: number }>()
if (process.env.SQLPROF) {
  const probe = new SQLite(':memory:')
  const proto = Object.getPrototypeOf(probe.prepare('select 1'))
  for (const m of ['all', 'run', 'get']) {
    const orig = proto[m]
    proto[m] = function (this: { source: string }, ...args: unknown[]) {
      const t = performance.now()
      try { return orig.apply(this, args) } finally {
        const e = SQLSTATS.get(this.source) ?? { n: 0, ms: 0 }
        e.n++; e.ms += performance.now() - t; SQLSTATS.set(this.source, e)
      }
    }
  }
}
const TRANSACTIONS = Number(process.env.BENCH_ENGINE_TRANSACTIONS ?? 20_000)
const CONCURRENCY = Number(process.env.BENCH_ENGINE_CONCURRENCY ?? 8)
const PG_TRANSACTIONS = Number(process.env.BENCH_ENGINE_PG_TRANSACTIONS ?? Math.min(TRANSACTIONS, 5000))
const PAGE_SIZE = 500
const WARMUP = 1000
const API_KEY = 'bench-engine-key-0123456789'

// ---- the target API (child process) ----------------------------------------------------------

/** GET /n/:total/records?page&per_page: `total` records; POST /n/:total/items: 201 with an id. */
async function serveTarget(): Promise<void> {
  let posts = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const m = /^\/n\/(\d+)\/(records|items)$/.exec(url.pathname)
      res.setHeader('content-type', 'application/json')
      if (url.pathname === '/me') return res.end('{"id":"me"}')
      if (!m || req.headers['x-api-key'] !== API_KEY) {
        res.statusCode = m ? 401 : 404
        return res.end('{}')
      }
      if (m[2] === 'records') {
        const total = Number(m[1])
        const page = Number(url.searchParams.get('page'))
        const size = Number(url.searchParams.get('per_page'))
        const from = (page - 1) * size
        const data = []
        for (let i = from; i < Math.min(total, from + size); i++) data.push({ id: `r${i + 1}`, email: `Person.${i + 1}@Example.com`, first: 'Person', last: `Number ${i + 1}`, company: { name: `Company ${i % 97}` } })
        return res.end(JSON.stringify({ data }))
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { email?: string }
      posts++
      res.statusCode = 201
      res.end(JSON.stringify({ id: `item-${posts}`, email: body.email }))
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  process.send?.({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })
  process.on('message', (m) => {
    if (m === 'posts') process.send?.({ posts })
    if (m === 'reset') posts = 0
    if (m === 'stop') server.close(() => process.exit(0))
  })
}

if (process.argv[2] === '--target') await serveTarget()

interface Target {
  child: ChildProcess
  url: string
  posts(): Promise<number>
  reset(): void
}

async function startTarget(): Promise<Target> {
  const child = fork(new URL(import.meta.url), ['--target'], { execArgv: ['--import', 'tsx'] })
  const { url } = await new Promise<{ url: string }>((resolve) => child.once('message', resolve as never))
  return {
    child,
    url,
    reset: () => child.send('reset'),
    posts: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve((m as { posts: number }).posts))
        child.send('posts')
      }),
  }
}

// ---- the plain loop ----------------------------------------------------------------------------

interface Run {
  rate: number
  ms: number
  /** CPU time of this process (all its threads) per transaction */
  cpuMs: number
}

/** The same work by hand: paged GET, then per record a reshape, a POST, an insert per step. */
async function plainLoop(target: Target, n: number, dir: string): Promise<Run> {
  const db = new SQLite(join(dir, `plain-${n}.db`))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('create table step_log (id integer primary key, tx integer not null, step text not null, data text not null)')
  const insert = db.prepare('insert into step_log (tx, step, data) values (?, ?, ?)')
  const agent = new Agent({ keepAliveTimeout: 60_000 })
  const base = `${target.url}/n/${n}`
  const headers = { 'x-api-key': API_KEY, 'content-type': 'application/json', accept: 'application/json' }
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const records: Array<Record<string, any>> = []
  for (let page = 1; ; page++) {
    const res = await request(`${base}/records?page=${page}&per_page=${PAGE_SIZE}`, { headers, dispatcher: agent })
    const { data } = (await res.body.json()) as { data: Array<Record<string, any>> }
    records.push(...data)
    if (data.length < PAGE_SIZE) break
  }
  let next = 0
  const worker = async () => {
    while (next < records.length) {
      const tx = next++
      const r = records[tx]
      insert.run(tx, 'trigger', JSON.stringify(r))
      const reshaped = { email: r.email, name: `${r.first} ${r.last}`.toUpperCase(), source: `plexus ${r.id} (${r.company.name})` }
      insert.run(tx, 'reshape', JSON.stringify(reshaped))
      const res = await request(`${base}/items`, { method: 'POST', headers, body: JSON.stringify(reshaped), dispatcher: agent })
      if (res.statusCode !== 201) throw new Error(`POST answered ${res.statusCode}`)
      insert.run(tx, 'post', JSON.stringify(await res.body.json()))
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const rows = (db.prepare('select count(*) as n from step_log').get() as { n: number }).n
  if (rows !== n * 3) throw new Error(`plain loop wrote ${rows} rows, expected ${n * 3}`)
  db.close()
  await agent.close()
  return { rate: (n / ms) * 1000, ms, cpuMs: (cpu.user + cpu.system) / 1000 / n }
}

// ---- the engine --------------------------------------------------------------------------------

interface Bench {
  services: Services
  /** Installs a cycle reading `n` records; returns a function that runs it and waits. */
  cycle(n: number, opts: { script: boolean }): Promise<() => Promise<Run>>
  close(): Promise<void>
}

async function engineBench(target: Target, databaseUrl: string, schema?: string): Promise<Bench> {
  const services = await createServices(
    { databaseUrl, adminToken: 'bench-admin', allowPrivateNetwork: true },
    { db: { ...(schema ? { schema } : {}), poolSize: CONCURRENCY + 4 }, ...(schema ? { workerSchema: `${schema}_gw` } : {}) },
  )
  const app = await buildApp({ services })
  await app.ready()
  const call = async (method: string, url: string, key: string, body?: unknown) => {
    const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, payload: body ? JSON.stringify(body) : undefined })
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
    return res.json()
  }
  const key = (await call('POST', '/v1/partners', 'bench-admin', { name: 'Bench' })).apiKey as string
  const aid = (await call('POST', '/v1/accounts', key, { name: 'Globex', externalId: 'globex-1' })).id as string
  await services.engine.start({ concurrency: CONCURRENCY })

  return {
    services,
    async cycle(n, opts) {
      const cid = (await call('POST', '/v1/connectors', key, { name: `Target ${n}` })).id
      const definition = {
        baseUrl: `${target.url}/n/${n}`,
        authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
        methods: [
          {
            id: 'list-people',
            name: 'List People',
            type: 'action',
            http: { method: 'GET', path: '/records' },
            parameters: [
              { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
              { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
            ],
            records: 'data',
            response: { fields: [{ location: 'id', field: 'PersonId' }, { location: 'email', field: 'Email' }, { location: 'first', field: 'FirstName' }, { location: 'last', field: 'LastName' }, { location: 'company.name', field: 'Company' }] },
          },
          {
            id: 'create-contact',
            name: 'Create Contact',
            type: 'action',
            http: { method: 'POST', path: '/items' },
            request: { format: 'json', fields: [{ location: 'email', field: 'Email' }, { location: 'name', field: 'Name' }, { location: 'source', field: 'Source', optional: true }] },
            response: { fields: [{ location: 'id', field: 'ContactId' }] },
          },
        ],
      }
      const draft = await call('POST', `/v1/connectors/${cid}/releases`, key, { settings: { status: 'Approved', inboundPaging: true, inboundPageSize: PAGE_SIZE }, definition })
      await call('POST', `/v1/connectors/${cid}/releases/${draft.id}/push`, key, { kind: 'major' })
      await call('POST', `/v1/accounts/${aid}/connectors`, key, { connectorId: cid, auth: { ApiKey: API_KEY } })
      const name = opts.script ? { type: 'script', value: '=(fields.FirstName + " " + fields.LastName).toUpperCase()' } : { type: 'template', value: '{{trigger.FirstName}} {{trigger.LastName}}' }
      const steps = [
        { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-people' } },
        { key: 'has-email', type: 'decision', decision: { left: { type: 'step', step: 'trigger', field: 'Email' }, operator: 'isNotEmpty' } },
        {
          key: 'create',
          type: 'action',
          connector: { connectorId: cid, methodId: 'create-contact' },
          fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: name, Source: { type: 'template', value: 'plexus {{trigger.PersonId}} ({{trigger.Company}})' } },
        },
      ]
      const tid = (await call('POST', '/v1/templates', key, { name: `Bench ${n}`, steps })).id
      const yid = (await call('POST', `/v1/templates/${tid}/install`, key, { accountId: aid })).id as string
      return async () => {
        const succeeded = async () => {
          const values = (await services.metrics.transactions.get()).values
          return values.find((v) => v.labels.event === 'succeeded')?.value ?? 0
        }
        const failed = async () => (await services.metrics.transactions.get()).values.find((v) => v.labels.event === 'failed')?.value ?? 0
        const before = await succeeded()
        const failedBefore = await failed()
        target.reset()
        const t0 = performance.now()
        const cpu0 = process.cpuUsage()
        await call('POST', `/v1/accounts/${aid}/cycles/${yid}/run`, key)
        const deadline = Date.now() + 600_000
        while ((await succeeded()) - before < n) {
          if ((await failed()) > failedBefore) throw new Error('a transaction failed')
          if (Date.now() > deadline) throw new Error(`timed out: ${(await succeeded()) - before} of ${n} transactions`)
          await sleep(5)
        }
        const ms = performance.now() - t0
        const cpu = process.cpuUsage(cpu0)
        const rows = await services.store.db.selectFrom('transactions').select((eb) => eb.fn.countAll<number>().as('n')).where('cycle_id', '=', yid).where('status', '=', 'succeeded').executeTakeFirstOrThrow()
        if (Number(rows.n) !== n) throw new Error(`${rows.n} succeeded transactions in the database, expected ${n}`)
        const posts = await target.posts()
        if (posts !== n) throw new Error(`the target received ${posts} POSTs, expected ${n}`)
        return { rate: (n / ms) * 1000, ms, cpuMs: (cpu.user + cpu.system) / 1000 / n }
      }
    },
    async close() {
      await app.close()
      await services.close()
    },
  }
}

const fmt = (r: Run) => `${r.rate.toFixed(0)} tx/s (${(r.ms / 1000).toFixed(2)} s; CPU ${r.cpuMs.toFixed(2)} ms per transaction)`

export async function run(): Promise<void> {
  const target = await startTarget()
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-engine-'))
  try {
    const bench = await engineBench(target, `sqlite:${join(dir, 'plexus.db')}`)
    let plain: Run, engine: Run, mappingsOnly: Run
    try {
      // Warm-up of both (JIT, the sandbox, connections), then the measured runs.
      const warmEngine = await bench.cycle(WARMUP, { script: true })
      const withScript = await bench.cycle(TRANSACTIONS, { script: true })
      const withoutScript = await bench.cycle(TRANSACTIONS, { script: false })
      await warmEngine()
      if (process.env.PROF_ONLY) {
        const runner = bench.services.engine.runner as any
        const origRun = runner.run.bind(runner)
        let active = 0, maxActive = 0, runMs = 0, runs = 0, activeSum = 0
        runner.run = async (...a: unknown[]) => { active++; maxActive = Math.max(maxActive, active); activeSum += active; const t = performance.now(); try { return await origRun(...a) } finally { active--; runMs += performance.now() - t; runs++ } }
        const ac = bench.services.accountConnectors as any
        const origInvoke = ac.invoke.bind(ac)
        let httpMs = 0, calls = 0
        ac.invoke = async function* (inv: unknown) { const t = performance.now(); try { yield* origInvoke(inv) } finally { httpMs += performance.now() - t; calls++ } }
        setInterval(() => console.log(`runs ${runs} avg ${(runMs / runs).toFixed(1)} ms, invoke avg ${(httpMs / calls).toFixed(1)} ms, active avg ${(activeSum / runs).toFixed(1)} max ${maxActive}`), 3000).unref()
        SQLSTATS.clear(); const { Session } = await import('node:inspector/promises'); const ses = new Session(); ses.connect(); await ses.post('Profiler.enable'); await ses.post('Profiler.start'); const cpu0 = process.cpuUsage(); mappingsOnly = await withoutScript(); const { profile } = await ses.post('Profiler.stop'); (await import('node:fs')).writeFileSync('/tmp/prof/run.cpuprofile', JSON.stringify(profile)); const cpu = process.cpuUsage(cpu0); console.log(fmt(mappingsOnly), 'cpu ms/tx', ((cpu.user + cpu.system) / 1000 / TRANSACTIONS).toFixed(2), 'user', (cpu.user/1000/TRANSACTIONS).toFixed(2)); for (const [k, v] of [...SQLSTATS].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(v.n, v.ms.toFixed(0), k.slice(0, 300)); target.child.kill(); process.exit(0) }
      await plainLoop(target, WARMUP, dir)
      plain = await plainLoop(target, TRANSACTIONS, dir)
      engine = await withScript()
      mappingsOnly = await withoutScript()
    } finally {
      await bench.close()
    }
    const ratio = engine.rate / plain.rate
    report('engine (embedded: SQLite, built-in queue)', {
      setup: `${TRANSACTIONS} transactions of trigger (paged GET, ${PAGE_SIZE}/page) → decision → POST with mapped fields; concurrency ${CONCURRENCY}; target API in a child process`,
      rows: [
        ['plain loop (paged GET; reshape + undici POST + 3 SQLite inserts per record)', fmt(plain)],
        ['Plexus engine, inline `=` script mapping (sandboxed)', fmt(engine)],
        ['Plexus engine, template/step mappings only', fmt(mappingsOnly)],
      ],
      verdicts: [
        [`engine ${engine.rate.toFixed(0)} transactions/s (target ≥ 1 000)`, engine.rate >= 1000],
        [`ratio ${(ratio * 100).toFixed(1)} % of the plain loop (target ≥ 30 %)`, ratio >= 0.3],
      ],
    })

    const url = process.env.PLEXUS_TEST_DATABASE_URL
    if (url) {
      const schema = `bench_e_${Date.now()}`
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`create schema ${schema}`)
      try {
        const pgBench = await engineBench(target, url, schema)
        let r: Run
        try {
          const warm = await pgBench.cycle(WARMUP, { script: true })
          const measured = await pgBench.cycle(PG_TRANSACTIONS, { script: true })
          await warm()
          r = await measured()
        } finally {
          await pgBench.close()
        }
        report('engine (scale-out: PostgreSQL + graphile-worker, one worker process)', {
          setup: `${PG_TRANSACTIONS} transactions, same cycle (inline script), concurrency ${CONCURRENCY}`,
          rows: [['Plexus engine on PostgreSQL', fmt(r)]],
          verdicts: [],
        })
      } finally {
        await admin.query(`drop schema if exists ${schema} cascade`)
        await admin.query(`drop schema if exists ${schema}_gw cascade`)
        await admin.end()
      }
    }
  } finally {
    target.child.send('stop')
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(machine())
}

// npm run bench -- engine
// The run engine end to end in embedded mode (SQLite, the built-in queue, in process): 20 000
// transactions of a three-step cycle — a polling trigger's record (paged GET, 500 a page) → a
// decision on it → a POST whose fields reshape it — against a plain loop doing the same work by
// hand in the same run: the paged GET, then per record a JSON reshape, an undici POST and one
// SQLite insert per step (three). Target: ≥ 1 000 transactions/s on this 2-core machine, and
// ≥ 30 % of the plain loop's rate.
//
// Three versions of the reshaping POST step are measured: its fields from a step mapping and
// `{{merge field}}` templates; the same with one field from an inline `=` script; and the same
// mappings with a step-level script (`before_action`) reshaping the request the step sends — issue
// 6's "script step reshaping the record". Both scripted versions run in the script sandbox, so they
// cost a sandbox round trip per transaction. The plain loop runs as a
// plain (sequential) loop, the baseline of the target, and, for reference, with the engine's
// concurrency. Each Plexus version runs on a database of its own after the same warm-up (a version
// measured on a database the others had filled would run slower: measured, docs/benchmarks.md);
// the step-script version then runs as many again on its database, reported beside it. With
// PLEXUS_TEST_DATABASE_URL set, the engine on PostgreSQL + graphile-worker (one worker process) too.
//
// The target API runs in a child process (this file with --target), so it has a core of its own.
// The engine's throughput keeps rising for thousands of transactions after it starts (JIT, heap
// sizes, the VM's memory: measured ~880 → ~1 300 tx/s over 30 000 transactions in one process), so
// every run warms up on BENCH_ENGINE_WARMUP (default 5 000) transactions first.
// BENCH_ENGINE_TRANSACTIONS, BENCH_ENGINE_CONCURRENCY (default 16), BENCH_ENGINE_PG_TRANSACTIONS.
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

const TRANSACTIONS = Number(process.env.BENCH_ENGINE_TRANSACTIONS ?? 20_000)
const CONCURRENCY = Number(process.env.BENCH_ENGINE_CONCURRENCY ?? 16)
const PG_TRANSACTIONS = Number(process.env.BENCH_ENGINE_PG_TRANSACTIONS ?? Math.min(TRANSACTIONS, 5000))
const PAGE_SIZE = 500
const WARMUP = Number(process.env.BENCH_ENGINE_WARMUP ?? 5000)
const API_KEY = 'bench-engine-key-0123456789'
/** The step-level script of the third version: reshapes the record the POST step sends. */
const STEP_SCRIPT = `function before_action() {
  method_request.name = method_request.name.toUpperCase();
  method_request.source = method_request.source + ' via step script';
  return true;
}`

// ---- the target API (child process) ----------------------------------------------------------

/** GET /n/:total/records?page&per_page: `total` records; POST /n/:total/items: 201 with an id. */
async function serveTarget(): Promise<void> {
  let posts = 0
  let viaStepScript = 0
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
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { email?: string; source?: string }
      posts++
      if (body.source?.endsWith(' via step script')) viaStepScript++
      res.statusCode = 201
      res.end(JSON.stringify({ id: `item-${posts}`, email: body.email }))
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  process.send?.({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })
  process.on('message', (m) => {
    if (m === 'posts') process.send?.({ posts, viaStepScript })
    if (m === 'reset') posts = viaStepScript = 0
    if (m === 'stop') server.close(() => process.exit(0))
  })
  process.on('disconnect', () => process.exit(0))
}

if (process.argv[2] === '--target') await serveTarget()

interface Target {
  child: ChildProcess
  url: string
  posts(): Promise<number>
  /** POSTs whose body the step script reshaped. */
  viaStepScript(): Promise<number>
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
    viaStepScript: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve((m as { viaStepScript: number }).viaStepScript))
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

let plainRuns = 0

/** The same work by hand: paged GET, then per record a reshape, a POST, an insert per step. */
async function plainLoop(target: Target, n: number, dir: string, concurrency: number): Promise<Run> {
  const db = new SQLite(join(dir, `plain-${++plainRuns}.db`))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec('create table step_log (id integer primary key, tx integer not null, step text not null, data text not null)')
  const insert = db.prepare('insert into step_log (tx, step, data) values (?, ?, ?)')
  const agent = new Agent({ keepAliveTimeout: 60_000 })
  const base = `${target.url}/n/${n}`
  const headers = { 'x-api-key': API_KEY, 'content-type': 'application/json', accept: 'application/json' }
  target.reset()
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
  await Promise.all(Array.from({ length: concurrency }, worker))
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const rows = (db.prepare('select count(*) as n from step_log').get() as { n: number }).n
  if (rows !== n * 3) throw new Error(`plain loop wrote ${rows} rows, expected ${n * 3}`)
  const posts = await target.posts()
  if (posts !== n) throw new Error(`the target received ${posts} POSTs from the plain loop, expected ${n}`)
  db.close()
  await agent.close()
  return { rate: (n / ms) * 1000, ms, cpuMs: (cpu.user + cpu.system) / 1000 / n }
}

// ---- the engine --------------------------------------------------------------------------------

interface Bench {
  services: Services
  /** Installs a cycle reading `n` records; returns a function that runs it and waits. */
  cycle(n: number, opts: { script: false | 'inline' | 'step' }): Promise<() => Promise<Run>>
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
      const name = opts.script === 'inline' ? { type: 'script', value: '=(fields.FirstName + " " + fields.LastName).toUpperCase()' } : { type: 'template', value: '{{trigger.FirstName}} {{trigger.LastName}}' }
      const steps = [
        { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-people' } },
        { key: 'has-email', type: 'decision', decision: { left: { type: 'step', step: 'trigger', field: 'Email' }, operator: 'isNotEmpty' } },
        {
          key: 'create',
          type: 'action',
          connector: { connectorId: cid, methodId: 'create-contact' },
          fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: name, Source: { type: 'template', value: 'plexus {{trigger.PersonId}} ({{trigger.Company}})' } },
          ...(opts.script === 'step' ? { script: STEP_SCRIPT } : {}),
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
        if (opts.script === 'step' && (await target.viaStepScript()) !== n) throw new Error('the step script did not reshape every POST')
        return { rate: (n / ms) * 1000, ms, cpuMs: (cpu.user + cpu.system) / 1000 / n }
      }
    },
    async close() {
      await app.close()
      await services.close()
    },
  }
}

const fmt = (r: Run) => `${r.rate.toFixed(0)} tx/s (${(r.ms / 1000).toFixed(2)} s; this process: ${r.cpuMs.toFixed(2)} ms CPU a transaction)`

/**
 * One version of the cycle on a database of its own (so no version runs on a database the others
 * have filled): a warm-up, then the measured transactions; `again` more on the same database.
 */
async function measureVersion(target: Target, dir: string, script: false | 'inline' | 'step', again = false): Promise<{ first: Run; again?: Run }> {
  const bench = await engineBench(target, `sqlite:${join(dir, `plexus-${script || 'mappings'}.db`)}`)
  try {
    const warm = await bench.cycle(WARMUP, { script })
    const measured = await bench.cycle(TRANSACTIONS, { script })
    const second = again ? await bench.cycle(TRANSACTIONS, { script }) : undefined
    await warm()
    const first = await measured()
    return { first, ...(second ? { again: await second() } : {}) }
  } finally {
    await bench.close()
  }
}

export async function run(): Promise<void> {
  const target = await startTarget()
  const dir = mkdtempSync(join(tmpdir(), 'plexus-bench-engine-'))
  try {
    await plainLoop(target, WARMUP, dir, CONCURRENCY)
    const plain = await plainLoop(target, TRANSACTIONS, dir, 1)
    const plainConcurrent = await plainLoop(target, TRANSACTIONS, dir, CONCURRENCY)
    const mappings = (await measureVersion(target, dir, false)).first
    const script = (await measureVersion(target, dir, 'inline')).first
    const step = await measureVersion(target, dir, 'step', true)
    const stepScript = step.first
    const pct = (r: Run, base: Run) => `${((r.rate / base.rate) * 100).toFixed(1)} %`
    report('engine (embedded: SQLite, built-in queue)', {
      setup: `${TRANSACTIONS} transactions of trigger (paged GET, ${PAGE_SIZE} a page) → decision → POST with reshaping field mappings; engine concurrency ${CONCURRENCY}; target API in a child process; each Plexus version on a new database after ${WARMUP} warm-up transactions`,
      rows: [
        ['plain loop (paged GET; per record a reshape, an undici POST, 3 SQLite inserts)', fmt(plain)],
        [`the same with ${CONCURRENCY} loops side by side (reference)`, fmt(plainConcurrent)],
        ['Plexus: POST fields from step and {{merge field}} template mappings', fmt(mappings), `${pct(mappings, plain)} of the plain loop`, `${pct(mappings, plainConcurrent)} of ${CONCURRENCY} loops`],
        ['Plexus: the same with one field from an inline `=` script (sandboxed)', fmt(script), `${pct(script, plain)} of the plain loop`, `${pct(script, plainConcurrent)} of ${CONCURRENCY} loops`],
        ['Plexus: mappings + a step script (before_action) reshaping the request (sandboxed)', fmt(stepScript), `${pct(stepScript, plain)} of the plain loop`, `${pct(stepScript, plainConcurrent)} of ${CONCURRENCY} loops`],
        [`  the same, ${TRANSACTIONS} more on that database (${WARMUP + TRANSACTIONS} transactions in it)`, fmt(step.again!), `${pct(step.again!, plain)} of the plain loop`],
      ],
      verdicts: [
        [`mappings: ${mappings.rate.toFixed(0)} transactions/s (target ≥ 1 000)`, mappings.rate >= 1000],
        [`mappings: ${pct(mappings, plain)} of the plain loop (target ≥ 30 %)`, mappings.rate / plain.rate >= 0.3],
        [`inline script: ${script.rate.toFixed(0)} transactions/s (target ≥ 1 000)`, script.rate >= 1000],
        [`inline script: ${pct(script, plain)} of the plain loop (target ≥ 30 %)`, script.rate / plain.rate >= 0.3],
        [`step script: ${stepScript.rate.toFixed(0)} transactions/s (target ≥ 1 000)`, stepScript.rate >= 1000],
        [`step script: ${pct(stepScript, plain)} of the plain loop (target ≥ 30 %)`, stepScript.rate / plain.rate >= 0.3],
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
        let r: Run, rs: Run, rss: Run
        try {
          const warm = await pgBench.cycle(WARMUP, { script: false })
          const measured = await pgBench.cycle(PG_TRANSACTIONS, { script: false })
          const measuredScript = await pgBench.cycle(PG_TRANSACTIONS, { script: 'inline' })
          const measuredStep = await pgBench.cycle(PG_TRANSACTIONS, { script: 'step' })
          await warm()
          r = await measured()
          rs = await measuredScript()
          rss = await measuredStep()
        } finally {
          await pgBench.close()
        }
        report('engine (scale-out: PostgreSQL + graphile-worker, one worker process)', {
          setup: `${PG_TRANSACTIONS} transactions of the same cycle, concurrency ${CONCURRENCY}, PostgreSQL on this machine`,
          rows: [
            ['Plexus on PostgreSQL: mappings', fmt(r)],
            ['Plexus on PostgreSQL: with the inline script', fmt(rs)],
            ['Plexus on PostgreSQL: with the step script', fmt(rss)],
          ],
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

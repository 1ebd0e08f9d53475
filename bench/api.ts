// npm run bench -- api
// Authenticated GET /v1/connectors/:cid/releases under load vs a bare fastify route returning the
// same JSON, measured in the same run. Target: Plexus ≥ 40 % of the bare route's requests/s,
// p99 < 25 ms. The servers run in a child process; autocannon runs here.
import { fork } from 'node:child_process'
import autocannon from 'autocannon'
import { machine, report } from './_report.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const DURATION = Number(process.env.BENCH_DURATION ?? 20)

async function load(url: string, headers: Record<string, string> = {}) {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers, pipelining: 1 })
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`)
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total }
}

async function startServers(pgUrl?: string) {
  const child = fork(new URL('./_api-server.ts', import.meta.url), pgUrl ? [pgUrl] : [], { execArgv: ['--import', 'tsx'] })
  const info = await new Promise<{ plexusUrl: string; bareUrl: string; key: string; bytes: number }>((resolve) => child.once('message', resolve as never))
  return { child, info }
}

export async function run(): Promise<void> {
  const { child, info } = await startServers()
  try {
    // warm-up, then the measured runs (bare first, Plexus second, so neither gets a cold JIT)
    await autocannon({ url: info.bareUrl, connections: 10, duration: 2 })
    await autocannon({ url: info.plexusUrl, connections: 10, duration: 2, headers: { authorization: `Bearer ${info.key}` } })
    const bare = await load(info.bareUrl)
    const plexus = await load(info.plexusUrl, { authorization: `Bearer ${info.key}` })
    const ratio = plexus.rps / bare.rps
    report('api', {
      setup: `${CONNECTIONS} connections × ${DURATION} s each (${CONNECTIONS * DURATION} connection-seconds), response ${info.bytes} bytes`,
      rows: [
        ['bare fastify route', `${bare.rps.toFixed(0)} req/s`, `p50 ${bare.p50} ms`, `p99 ${bare.p99} ms`],
        ['Plexus GET /v1/connectors/:cid/releases', `${plexus.rps.toFixed(0)} req/s`, `p50 ${plexus.p50} ms`, `p99 ${plexus.p99} ms`],
      ],
      verdicts: [
        [`ratio ${(ratio * 100).toFixed(1)} % of bare (target ≥ 40 %)`, ratio >= 0.4],
        [`p99 ${plexus.p99} ms (target < 25 ms)`, plexus.p99 < 25],
      ],
    })
  } finally {
    child.send('stop')
  }
  // Scale-out mode for reference: PostgreSQL, no in-process read cache (several processes write).
  const pgUrl = process.env.PLEXUS_TEST_DATABASE_URL
  if (pgUrl) {
    const pg = await startServers(pgUrl)
    try {
      await autocannon({ url: pg.info.plexusUrl, connections: 10, duration: 2, headers: { authorization: `Bearer ${pg.info.key}` } })
      const r = await load(pg.info.plexusUrl, { authorization: `Bearer ${pg.info.key}` })
      report('api (PostgreSQL, for reference)', { setup: 'same request, PLEXUS_DATABASE_URL=postgres://…', rows: [['Plexus on PostgreSQL', `${r.rps.toFixed(0)} req/s`, `p50 ${r.p50} ms`, `p99 ${r.p99} ms`]], verdicts: [] })
    } finally {
      pg.child.send('stop')
    }
  }
  console.log(machine())
}

// npm run bench -- webhooks
// POST /hooks/:webhookId with 1 KB JSON bodies (every accepted delivery persisted with its
// transaction and job before the 202) vs a bare fastify route answering 202 without persisting,
// in the same run. Targets (issue 7): ≥ 5 000 accepted deliveries/s, p99 ≤ 50 ms, ≥ 25 % of the
// bare route. The processing of the backlog is measured separately, after the load.
import { fork } from 'node:child_process'
import { loadavg } from 'node:os'
import autocannon from 'autocannon'
import { machine, report } from './_report.js'

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const DURATION = Number(process.env.BENCH_DURATION ?? 20)
const body = JSON.stringify({ id: 'evt_1', type: 'contact.created', data: { note: 'x'.repeat(960) } })

async function load(url: string) {
  const r = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: CONNECTIONS, duration: DURATION })
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`)
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total }
}

export async function run(): Promise<void> {
  const child = fork(new URL('./_webhooks-server.ts', import.meta.url), [], { execArgv: ['--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])] })
  const ask = <T>(m: string) => new Promise<T>((resolve) => { child.once('message', resolve as never); child.send(m) })
  const info = await new Promise<{ webhookUrl: string; bareUrl: string }>((resolve) => child.once('message', resolve as never))
  try {
    await autocannon({ url: info.bareUrl, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 10, duration: 2 })
    await autocannon({ url: info.webhookUrl, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 10, duration: 2 })
    const warm = await ask<{ deliveries: number }>('count')
    // The machine is shared: the load around the measured runs says how much CPU the runs had.
    const loadBefore = loadavg()[0]!.toFixed(2)
    const bare = await load(info.bareUrl)
    const plexus = await load(info.webhookUrl)
    const loadAfter = loadavg()[0]!.toFixed(2)
    const stored = await ask<{ deliveries: number; transactions: number }>('count')
    const drained = await ask<{ drained: number; ms: number }>('drain')
    const ratio = plexus.rps / bare.rps
    const persisted = stored.deliveries - warm.deliveries
    report('webhooks', {
      setup: `${CONNECTIONS} connections × ${DURATION} s each, ${body.length}-byte JSON bodies, SQLite file (WAL); 1-min load average ${loadBefore} before, ${loadAfter} after the runs`,
      rows: [
        ['bare fastify route (202, nothing stored)', `${bare.rps.toFixed(0)} req/s`, `p50 ${bare.p50} ms`, `p99 ${bare.p99} ms`],
        ['Plexus POST /hooks/:webhookId', `${plexus.rps.toFixed(0)} req/s`, `p50 ${plexus.p50} ms`, `p99 ${plexus.p99} ms`, `${plexus.total} accepted, ${persisted} persisted`],
        ['backlog processing (engine, concurrency 4)', `${drained.drained} transactions in ${(drained.ms / 1000).toFixed(1)} s`, `${((drained.drained / drained.ms) * 1000).toFixed(0)} tx/s`],
      ],
      verdicts: [
        [`${plexus.rps.toFixed(0)} accepted deliveries/s (target ≥ 5 000)`, plexus.rps >= 5000],
        [`p99 ${plexus.p99} ms (target ≤ 50 ms)`, plexus.p99 <= 50],
        [`ratio ${(ratio * 100).toFixed(1)} % of bare (target ≥ 25 %)`, ratio >= 0.25],
        // autocannon stops counting at the deadline; requests in flight then (≤ one per connection) were committed too
        [`every accepted delivery persisted (${persisted} persisted, ${plexus.total} answered in the window + ≤ ${CONNECTIONS} in flight)`, persisted >= plexus.total && persisted <= plexus.total + CONNECTIONS],
      ],
    })
  } finally {
    child.send('stop')
  }
  console.log(machine())
}

// Inbound paging throughput: 200 000 records (~200-byte JSON records, pages of 100) read through a
// compiled Plexus method vs a hand-written undici loop over the same local server, in one run.
// The server runs in a child process so both clients get the same, separate CPU.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { HttpClient } from '../src/runtime/http/http-client.js';
import { compileRelease } from '../src/runtime/compile.js';
import type { CompiledConnector } from '../src/runtime/compile.js';
import { executeMethod } from '../src/runtime/executor.js';
import type { ConnectorDefinition, Field } from '../src/definition/schema.js';

const TOTAL = 200_000;
const PAGE_SIZE = 100;

// Plain JS run with `node -e`: GET /records?page=&per_page= → {"data":[…],"page":n}.
const SERVER_SOURCE = `
const http = require('node:http');
const total = Number(process.env.TOTAL);
const record = (i) => '{"id":"rec_' + i + '","number":' + i + ',"email":"user' + i + '@example.com","name":"User Number ' + i +
  '","status":"' + (i % 3 ? 'active' : 'inactive') + '","amount":"' + (10 + (i % 1000) / 100).toFixed(2) +
  '","created_at":"2024-01-' + String((i % 28) + 1).padStart(2, '0') + 'T10:00:00Z","tags":["alpha","beta"]}';
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const page = Number(u.searchParams.get('page') || 1);
  const size = Number(u.searchParams.get('per_page') || 100);
  const start = (page - 1) * size;
  const end = Math.min(total, start + size);
  let body = '{"data":[';
  for (let i = start; i < end; i++) body += (i > start ? ',' : '') + record(i + 1);
  body += '],"page":' + page + '}';
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export interface PagingServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the record server in a child process (its memory is not the client's). */
export async function startPagingServer(total: number): Promise<PagingServer> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER_SOURCE], { env: { ...process.env, TOTAL: String(total) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  const port = Number(chunk.toString().trim());
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      child.kill();
      await once(child, 'exit');
    },
  };
}

export function pagingRelease(baseUrl: string, opts: { pageSize: number; fields: boolean; maxPages?: number }): CompiledConnector {
  const fields: Field[] = [
    { location: 'id', field: 'Id' },
    { location: 'number', field: 'Number', type: 'integer' },
    { location: 'email', field: 'Email' },
    { location: 'status', field: 'Status' },
    { location: 'amount', field: 'Amount', type: 'decimal' },
    { location: 'created_at', field: 'CreatedAt', type: 'datetime' },
  ];
  const definition: ConnectorDefinition = {
    baseUrl,
    methods: [
      {
        id: 'list-records',
        name: 'List Records',
        http: { method: 'GET', path: '/records' },
        parameters: [
          { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
          { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
        ],
        records: 'data',
        paging: { maxPages: opts.maxPages ?? 100_000 },
        ...(opts.fields ? { response: { fields } } : {}),
      },
    ],
  };
  return compileRelease({ inboundPaging: true, inboundPageSize: opts.pageSize }, definition);
}

async function plexusRun(compiled: CompiledConnector, http: HttpClient): Promise<number> {
  let count = 0;
  for await (const page of executeMethod(compiled, 'list-records', { auth: { values: {} }, http })) count += page.records.length;
  return count;
}

/** What a developer would write by hand: page loop, JSON.parse, stop on a short page. */
async function handRun(baseUrl: string, agent: Agent): Promise<number> {
  let count = 0;
  for (let page = 1; ; page++) {
    const res = await request(`${baseUrl}/records?page=${page}&per_page=${PAGE_SIZE}`, { dispatcher: agent, headers: { accept: 'application/json' } });
    const body = JSON.parse(await res.body.text()) as { data: unknown[] };
    count += body.data.length;
    if (body.data.length < PAGE_SIZE) break;
  }
  return count;
}

interface Sample {
  /** Records per second (wall clock). */
  rate: number;
  /** Client CPU (user + system) per record, in µs: insensitive to other load on the machine. */
  cpuPerRecord: number;
}

async function timed(label: string, fn: () => Promise<number>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const count = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (count !== TOTAL) throw new Error(`${label}: read ${count} records, expected ${TOTAL}`);
  return { rate: TOTAL / seconds, cpuPerRecord: (cpu.user + cpu.system) / TOTAL };
}

/**
 * The runtime's own cost, without a network or a server: the same 2 000 pages answered by an
 * in-memory sender, against a loop that only parses them. Insensitive to other load on the host.
 */
async function inMemoryOverhead(): Promise<{ parseOnly: number; raw: number; typed: number }> {
  const pages = TOTAL / PAGE_SIZE;
  const record = (i: number) => ({ id: `rec_${i}`, number: i, email: `user${i}@example.com`, name: `User Number ${i}`, status: 'active', amount: '12.34', created_at: '2024-01-02T10:00:00Z', tags: ['alpha', 'beta'] });
  const bodies = Array.from({ length: pages }, (_, p) => Buffer.from(JSON.stringify({ data: Array.from({ length: PAGE_SIZE }, (_, i) => record(p * PAGE_SIZE + i + 1)), page: p + 1 })));
  const memory = {
    send: async (req: { url: string }) => {
      const page = Number(new URL(req.url).searchParams.get('page'));
      return { status: 200, headers: { 'content-type': 'application/json' }, body: bodies[page - 1]!, url: req.url, attempts: 1, timings: { startedAt: 0, durationMs: 0 } };
    },
  };
  const perPage = async (fn: () => Promise<void>) => {
    await fn(); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      // CPU time, not wall time: other processes on the host do not count.
      const cpu0 = process.cpuUsage();
      await fn();
      const cpu = process.cpuUsage(cpu0);
      samples.push((cpu.user + cpu.system) / pages);
    }
    return median(samples);
  };
  const viaPlexus = (fields: boolean) => {
    // Every page is full, so maxPages ends the run after exactly `pages` pages.
    const compiled = pagingRelease('http://127.0.0.1:1', { pageSize: PAGE_SIZE, fields, maxPages: pages });
    return async () => {
      for await (const page of executeMethod(compiled, 'list-records', { auth: { values: {} }, http: memory })) void page.records.length;
    };
  };
  const parseOnly = async () => {
    for (let i = 0; i < pages; i++) await Promise.resolve(JSON.parse(bodies[i]!.toString('utf8')) as unknown);
  };
  return { parseOnly: await perPage(parseOnly), raw: await perPage(viaPlexus(false)), typed: await perPage(viaPlexus(true)) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} records/s`;

export async function run(): Promise<void> {
  const server = await startPagingServer(TOTAL);
  const http = new HttpClient({ allowPrivateNetwork: true });
  const agent = new Agent();
  const raw = pagingRelease(server.url, { pageSize: PAGE_SIZE, fields: false });
  const typed = pagingRelease(server.url, { pageSize: PAGE_SIZE, fields: true });
  try {
    // Warm up JIT and connections.
    await handRun(server.url, agent);
    await plexusRun(typed, http);
    await plexusRun(raw, http);
    const rounds = 7;
    const results = { hand: [] as Sample[], raw: [] as Sample[], typed: [] as Sample[] };
    const variants: Array<[keyof typeof results, () => Promise<number>]> = [
      ['hand', () => handRun(server.url, agent)],
      ['raw', () => plexusRun(raw, http)],
      ['typed', () => plexusRun(typed, http)],
    ];
    for (let i = 0; i < rounds; i++) {
      // Interleaved and rotated, so drift (GC, server JIT, other load) hits all variants alike.
      for (let k = 0; k < variants.length; k++) {
        const [name, fn] = variants[(i + k) % variants.length]!;
        results[name].push(await timed(name, fn));
      }
    }
    // Ratios are taken per round (paired), then the median: robust to load changing between rounds.
    const ratio = (name: 'raw' | 'typed') => median(results[name].map((s, i) => s.rate / results.hand[i]!.rate)) * 100;
    const line = (name: keyof typeof results) =>
      `${fmt(median(results[name].map((s) => s.rate)))}, client CPU ${median(results[name].map((s) => s.cpuPerRecord)).toFixed(2)} µs/record`;
    console.log(`paging: ${TOTAL.toLocaleString('en-US')} records, pages of ${PAGE_SIZE}, ${rounds} interleaved rounds (medians)`);
    console.log(`  hand-written undici loop : ${line('hand')}`);
    console.log(`  plexus, records as-is    : ${line('raw')}  → ${ratio('raw').toFixed(1)} % of hand-written (target >= 80 %)`);
    console.log(`  plexus, 6 typed fields   : ${line('typed')}  → ${ratio('typed').toFixed(1)} % of hand-written`);
    const mem = await inMemoryOverhead();
    console.log(`  in-memory (no network), CPU per page of ${PAGE_SIZE}: JSON.parse only ${mem.parseOnly.toFixed(1)} µs; plexus as-is ${mem.raw.toFixed(1)} µs (+${(mem.raw - mem.parseOnly).toFixed(1)}); plexus typed ${mem.typed.toFixed(1)} µs (+${(mem.typed - mem.parseOnly).toFixed(1)})`);
  } finally {
    await http.close();
    await agent.close();
    await server.close();
  }
}

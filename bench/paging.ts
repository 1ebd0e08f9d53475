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

async function timed(label: string, fn: () => Promise<number>): Promise<number> {
  const t0 = performance.now();
  const count = await fn();
  const seconds = (performance.now() - t0) / 1000;
  if (count !== TOTAL) throw new Error(`${label}: read ${count} records, expected ${TOTAL}`);
  return TOTAL / seconds;
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
    const rounds = 3;
    const results = { hand: [] as number[], raw: [] as number[], typed: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      // Interleaved, so drift (GC, thermal, server JIT) hits all variants alike.
      results.hand.push(await timed('hand-written', () => handRun(server.url, agent)));
      results.raw.push(await timed('plexus raw', () => plexusRun(raw, http)));
      results.typed.push(await timed('plexus typed', () => plexusRun(typed, http)));
    }
    const hand = median(results.hand);
    const plexusRaw = median(results.raw);
    const plexusTyped = median(results.typed);
    console.log(`paging: ${TOTAL.toLocaleString('en-US')} records, pages of ${PAGE_SIZE}, median of ${rounds} rounds`);
    console.log(`  hand-written undici loop : ${fmt(hand)}`);
    console.log(`  plexus, records as-is    : ${fmt(plexusRaw)}  (${((plexusRaw / hand) * 100).toFixed(1)} % of hand-written)`);
    console.log(`  plexus, 6 typed fields   : ${fmt(plexusTyped)}  (${((plexusTyped / hand) * 100).toFixed(1)} % of hand-written; target >= 80 %)`);
  } finally {
    await http.close();
    await agent.close();
    await server.close();
  }
}

// npm run bench -- scripts
// One before_action that edits a 2 KB request, run 10 000 times on a warm sandbox, against a plain
// in-process JavaScript function doing the same edit on a JSON copy of the same request, in the same
// run. Then a transaction with three hooks (before_action, after_action, action_condition) through
// the EventDispatcher, as the executor calls them. Targets: median ≤ 100 µs per event; three hooks
// add ≤ 1 ms per transaction. BENCH_SCRIPT_ENGINES=isolated-vm,quickjs measures each engine
// (default: the engine chosen at start-up; quickjs runs fewer iterations).
import { createScriptRunner } from '../src/scripting/script-runner.js';
import type { ScriptRunner } from '../src/scripting/script-runner.js';
import { EventDispatcher } from '../src/scripting/event-dispatcher.js';
import { ScriptCallState } from '../src/scripting/call-state.js';
import type { EngineName } from '../src/scripting/engines/engine.js';
import { machine, report } from './_report.js';

const EVENTS = Number(process.env.BENCH_SCRIPT_EVENTS ?? 10_000);
const TRANSACTIONS = Number(process.env.BENCH_SCRIPT_TRANSACTIONS ?? 2_000);

const SCRIPT = `function before_action() {
  method_request.contact.name = method_request.contact.name.toUpperCase();
  method_request.contact.tags.push('synced');
  method_request_headers['X-Request-Id'] = 'req-' + method_request.contact.id;
  method_request_parameters.updated_since = '2024-01-01';
  delete method_request.contact.internal;
  return true;
}`;

/** The same edit as the script, on the host. */
function plainEdit(g: { method_request: any; method_request_headers: Record<string, string>; method_request_parameters: Record<string, unknown> }) {
  g.method_request.contact.name = g.method_request.contact.name.toUpperCase();
  g.method_request.contact.tags.push('synced');
  g.method_request_headers['X-Request-Id'] = 'req-' + g.method_request.contact.id;
  g.method_request_parameters.updated_since = '2024-01-01';
  delete g.method_request.contact.internal;
  return true;
}

function request() {
  const notes = Array.from({ length: 14 }, (_, i) => ({ at: `2024-01-${String(i + 1).padStart(2, '0')}T10:00:00Z`, text: `note ${i} ${'lorem ipsum '.repeat(6)}` }));
  return {
    method_endpoint: 'https://api.example.com/v2/contacts/12345',
    method_request: { contact: { id: 12345, name: 'Ada Lovelace', email: 'ada@example.com', tags: ['vip', 'newsletter'], internal: { score: 7 }, notes } },
    method_request_headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    method_request_parameters: { include: 'notes' },
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

async function measure(n: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < Math.min(500, n); i++) await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push((performance.now() - t) * 1000);
  }
  return out.sort((a, b) => a - b);
}

async function benchEngine(runner: ScriptRunner, scale: number) {
  const base = request();
  const size = JSON.stringify(base).length;
  const events = Math.max(100, Math.floor(EVENTS * scale));
  const transactions = Math.max(50, Math.floor(TRANSACTIONS * scale));
  const isolationKey = 'bench/account';

  const plain = await measure(events, () => plainEdit(JSON.parse(JSON.stringify(base))));
  const scripted = await measure(events, async () => {
    const r = await runner.runEvent({ event: 'before_action', isolationKey, sources: { method: SCRIPT }, globals: base });
    if (r.result.kind !== 'ok') throw new Error(JSON.stringify(r.result));
  });

  const dispatcher = new EventDispatcher(runner, {
    isolationKey,
    sources: {
      method: `${SCRIPT}
        function after_action() { method_response.items = method_response.items.map(function (i) { return { id: i.id, name: i.name.trim() } }); return true }
        function action_condition() { return method_response.items.length > 0 }`,
    },
  });
  const response = { status: 200, headers: { 'content-type': 'application/json' }, body: { items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: ` item ${i} ` })) } };
  const scriptRequest = { endpoint: base.method_endpoint, headers: base.method_request_headers, parameters: base.method_request_parameters, body: base.method_request };
  const transaction = await measure(transactions, async () => {
    const state = new ScriptCallState();
    const before = await dispatcher.beforeAction(scriptRequest, state);
    const after = await dispatcher.afterAction(before.request, response, state);
    const cond = await dispatcher.actionCondition(after.response.body, state);
    if (!cond.route) throw new Error('route');
  });
  return { size, events, transactions, plain, scripted, transaction };
}

export async function run(): Promise<void> {
  const wanted = process.env.BENCH_SCRIPT_ENGINES?.split(',').map((s) => s.trim()) as EngineName[] | undefined;
  const engines: Array<EngineName | 'auto'> = wanted?.length ? wanted : ['auto'];
  for (const engine of engines) {
    const runner = await createScriptRunner({ engine, logger: { info: (_o, msg) => console.log(msg) } });
    try {
      const name = runner.engine.name;
      const r = await benchEngine(runner, name === 'quickjs' && engine === 'auto' ? 1 : name === 'quickjs' ? 0.2 : 1);
      const med = quantile(r.scripted, 0.5);
      const p99 = quantile(r.scripted, 0.99);
      const plainMed = quantile(r.plain, 0.5);
      const txMed = quantile(r.transaction, 0.5) / 1000;
      const txP99 = quantile(r.transaction, 0.99) / 1000;
      // The same events with the host and the sandbox going to sleep between messages (no waiting awake).
      let asleep: number[] | undefined;
      if (name === 'isolated-vm') {
        const sleepy = await createScriptRunner({ engine, spinMicros: 0, logger: null });
        try {
          asleep = (await benchEngine(sleepy, 0.3)).scripted;
        } finally {
          await sleepy.dispose();
        }
      }
      report(`scripts (${name} ${runner.engine.version})`, {
        setup: `before_action editing a ${r.size}-byte request: ${r.events} events on a warm sandbox; ${r.transactions} transactions of 3 hooks`,
        rows: [
          ['plain in-process function (JSON copy + edit)', `median ${plainMed.toFixed(1)} µs`, `p99 ${quantile(r.plain, 0.99).toFixed(1)} µs`],
          ['before_action in the sandbox', `median ${med.toFixed(1)} µs`, `p99 ${p99.toFixed(1)} µs`, `ratio ${(med / plainMed).toFixed(1)}×`],
          ...(asleep ? [['  the same, not waiting awake (PLEXUS_SCRIPT_SPIN_US=0)', `median ${quantile(asleep, 0.5).toFixed(1)} µs`, `p99 ${quantile(asleep, 0.99).toFixed(1)} µs`]] : []),
          ['transaction: before_action + after_action + action_condition', `median ${txMed.toFixed(2)} ms`, `p99 ${txP99.toFixed(2)} ms`],
        ],
        verdicts: [
          [`median ${med.toFixed(1)} µs per event (target ≤ 100 µs)`, med <= 100],
          [`three hooks add ${txMed.toFixed(2)} ms per transaction (target ≤ 1 ms)`, txMed <= 1],
        ],
      });
      console.log(`  engine: ${runner.engine.reason}; sandbox stats ${JSON.stringify(runner.stats())}`);
    } finally {
      await runner.dispose();
    }
  }
  console.log(machine());
}

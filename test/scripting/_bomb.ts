import { createScriptRunner } from '../../src/scripting/script-runner.js';
const bombs = [
  'function after_action() { var a = []; while (true) a.push(new Array(100000).fill(1.5)) }',
  "function after_action() { var a = []; for (var i = 0; ; i++) a.push('x'.repeat(1e6) + i) }",
  'function after_action() { var o = {}; for (var i = 0; ; i++) o["k" + i] = { i: i, s: "abcdefgh" + i } }',
  "function after_action() { var s = 'x'; while (true) s = s + s; }",
  'function after_action() { var bufs = []; while (true) bufs.push(new ArrayBuffer(8 * 1024 * 1024)) }',
];
const i = Number(process.argv[2]);
const r = await createScriptRunner({ engine: (process.argv[3] ?? 'isolated-vm') as 'isolated-vm', memoryMb: Number(process.argv[4] ?? 32), logger: null });
const t = Date.now();
const res = await r.runEvent({ event: 'after_action', isolationKey: 'k', sources: { method: bombs[i] }, globals: {}, limits: { timeoutMs: 5000 } });
console.log(i, JSON.stringify(res.result), Date.now() - t, 'ms', 'rss', Math.round(process.memoryUsage().rss / 1e6));
await r.dispose();

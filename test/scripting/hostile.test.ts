// Hostile scripts: every attempt must be contained, and the host must keep serving afterwards.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, createRunner, freshKey } from './engines.js';
import { startServer } from '../helpers/http-server.js';
import { HttpClient } from '../../src/runtime/http/http-client.js';
import { createHttpScriptHost, MemoryKeyValueStore } from '../../src/scripting/script-host.js';
import type { ScriptHost } from '../../src/scripting/script-host.js';
import type { RunEventResult, ScriptRunner } from '../../src/scripting/script-runner.js';
import { ScriptStorageRepo } from '../../src/scripting/script-storage.js';
import { storageWorld } from './storage-fixtures.js';

const code = (r: RunEventResult) => (r.result.kind === 'error' ? r.result.error.code : r.result.kind);

for (const engine of ENGINES) {
  describe(`hostile scripts on ${engine}`, () => {
    let runner: ScriptRunner;
    const get = async () => (runner ??= await createRunner(engine, { memoryMb: 32, limits: { timeoutMs: 2_000 } }));
    const run = async (source: string, opts: { host?: ScriptHost; globals?: Record<string, unknown>; timeoutMs?: number; key?: string } = {}) =>
      (await get()).runEvent({
        event: 'after_action',
        isolationKey: opts.key ?? freshKey(),
        sources: { method: source },
        globals: { method_response: null, ...opts.globals },
        host: opts.host,
        limits: opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : undefined,
      });
    const healthy = async () => {
      const r = await run('function after_action() { method_response = 40 + 2; return true }');
      assert.equal(r.globals.method_response, 42);
    };

    test('no process, require, module or host globals, by any route', async () => {
      const r = await run(`function after_action() {
        var out = {};
        out.process = typeof process; out.module = typeof module; out.Buffer = typeof Buffer; out.setTimeout = typeof setTimeout;
        out.globalProcess = typeof globalThis.process;
        try { out.fs = typeof require('fs') } catch (e) { out.fs = e.message }
        try { out.child = typeof require('child_process') } catch (e) { out.child = e.message }
        out.ctorChain = typeof this.constructor.constructor('return this')().process;
        out.ctorChainValue = this.constructor.constructor('return typeof process')();
        out.fnCtor = Function('return typeof process')();
        out.helperCtor = btoa.constructor('return typeof process')();
        out.helperProto = typeof Object.getPrototypeOf(http_request).constructor('return this')().process;
        out.evalProcess = eval('typeof process');
        out.indirect = (0, eval)('typeof require');
        out.arrow = (() => {}).constructor('return typeof process')();
        out.async = (async function () {}).constructor('return typeof process')().constructor.name;
        out.gen = Object.getPrototypeOf(function* () {}).constructor('return typeof process')().next().value;
        out.hostNames = Object.getOwnPropertyNames(globalThis).filter(function (n) { return /host|ivm|__plexus_(?!fields)|bridge/i.test(n) });
        return true, method_response = out;
      }`);
      assert.equal(code(r), 'ok', JSON.stringify(r.result));
      const out = r.globals.method_response as Record<string, unknown>;
      for (const k of ['process', 'module', 'Buffer', 'setTimeout', 'globalProcess', 'ctorChain', 'ctorChainValue', 'fnCtor', 'helperCtor', 'helperProto', 'evalProcess', 'arrow', 'gen']) {
        assert.equal(out[k], 'undefined', `${k}: ${String(out[k])}`);
      }
      assert.equal(out.fs, "Cannot find module 'fs'");
      assert.equal(out.child, "Cannot find module 'child_process'");
      assert.equal(out.indirect, 'function');
      assert.equal(out.async, 'Promise');
      assert.deepEqual(out.hostNames, []);
      await healthy();
    });

    test('Proxy, Symbol and getter tricks stay inside: the host only ever gets plain JSON data', async () => {
      const r = await run(`function after_action() {
        var trap = new Proxy({}, { get: function (t, k) { return function () { return 'trapped' } }, ownKeys: function () { return ['a'] }, getOwnPropertyDescriptor: function () { return { value: 1, enumerable: true, configurable: true } } });
        var sneaky = { toJSON: function () { return { fromToJSON: true } } };
        var prim = { a: 1 }; prim[Symbol.toPrimitive] = function () { throw new Error('never') };
        var getter = {}; Object.defineProperty(getter, 'g', { enumerable: true, get: function () { return 'computed-in-sandbox' } });
        method_response = { trap: trap, sneaky: sneaky, prim: prim, getter: getter, sym: Symbol('x'), fn: function () {} };
        method_response_headers = new Proxy({}, {});
        return true;
      }`, { globals: { method_response_headers: {} } });
      assert.equal(code(r), 'ok', JSON.stringify(r.result));
      const res = r.globals.method_response as Record<string, unknown>;
      // The proxy's traps (here: a toJSON) ran in the sandbox; the host got their JSON result.
      assert.deepEqual(res, { trap: 'trapped', sneaky: { fromToJSON: true }, prim: { a: 1 }, getter: { g: 'computed-in-sandbox' } });
      assert.equal(Object.getPrototypeOf(res), Object.prototype);
      assert.deepEqual(r.globals.method_response_headers, {});
      const loopingGetter = await run(`function after_action() { method_response = {}; Object.defineProperty(method_response, 'x', { enumerable: true, get: function () { while (true) {} } }); return true }`, { timeoutMs: 500 });
      assert.equal(code(loopingGetter), 'SCRIPT_TIMEOUT');
      const badThrow = await run(`function after_action() { throw new Proxy({}, { get: function () { throw new Error('nope') } }) }`);
      assert.equal(code(badThrow), 'SCRIPT_ERROR');
      const loopingMessage = await run(`function after_action() { var e = {}; Object.defineProperty(e, 'message', { get: function () { while (true) {} } }); throw e }`, { timeoutMs: 500 });
      assert.equal(code(loopingMessage), 'SCRIPT_TIMEOUT');
      await healthy();
    });

    test('prototype pollution of returned objects never reaches host objects', async () => {
      const r = await run(`function after_action() {
        Object.prototype.polluted = 'in-sandbox';
        method_response = JSON.parse('{"__proto__": {"polluted": "via-json"}, "constructor": {"prototype": {"polluted": "via-ctor"}}, "ok": 1}');
        method_response.nested = JSON.parse('{"__proto__": {"isAdmin": true}}');
        method_response_headers = JSON.parse('{"__proto__": {"x": "1"}}');
        return true;
      }`, { globals: { method_response_headers: {} } });
      assert.equal(code(r), 'ok', JSON.stringify(r.result));
      const res = r.globals.method_response as Record<string, unknown>;
      const plain: Record<string, unknown> = {};
      assert.equal(plain.polluted, undefined);
      assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
      assert.equal(plain.isAdmin, undefined);
      assert.equal(Object.getPrototypeOf(res), Object.prototype);
      assert.equal(Object.prototype.hasOwnProperty.call(res, '__proto__'), false);
      assert.equal(Object.getPrototypeOf(res.nested), Object.prototype);
      assert.equal((res.nested as Record<string, unknown>).isAdmin, undefined);
      // A naive deep merge downstream cannot be steered into Object.prototype either.
      const merged = deepMerge({}, res);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(merged.ok, 1);
      // And the sandbox's own pollution is gone for the next execution of that key.
      const next = await run('function after_action() { method_response = typeof ({}).polluted; return true }');
      assert.equal(next.globals.method_response, 'undefined');
    });

    test('endless loops, sync and async (microtasks, async functions), are stopped and the host keeps serving', async () => {
      let ticks = 0;
      let worstGap = 0;
      let last = Date.now();
      const timer = setInterval(() => {
        ticks++;
        worstGap = Math.max(worstGap, Date.now() - last);
        last = Date.now();
      }, 10);
      try {
        const loops = [
          'function after_action() { while (true) {} }',
          'function after_action() { for (;;) { Math.random() } }',
          'function after_action() { Promise.resolve().then(function spin() { while (true) {} }); return true }',
          'function after_action() { (function chain() { Promise.resolve().then(chain) })(); return true }',
          'async function after_action() { await null; while (true) {} }',
          "function after_action() { return /(a+)+$/.test('a'.repeat(40) + 'b') }",
          'function after_action() { var s = ""; while (true) { s = s + "x"; if (s.length > 1e5) s = "" } }',
        ];
        for (const src of loops) {
          const started = Date.now();
          const r = await run(src, { timeoutMs: 400 });
          assert.ok(['SCRIPT_TIMEOUT', 'SCRIPT_MEMORY'].includes(code(r)), `${src}: ${JSON.stringify(r.result)}`);
          assert.ok(Date.now() - started < 8_000, `${src} took ${Date.now() - started} ms`);
        }
      } finally {
        clearInterval(timer);
      }
      assert.ok(ticks > 20, `event loop ticks: ${ticks}`);
      // The event loop is never blocked for long (the synchronous attempt is a short slice at most).
      assert.ok(worstGap < 1_000, `worst event-loop gap ${worstGap} ms`);
      await healthy();
    });

    test('memory bombs end the execution (and replace the sandbox); the host stays healthy', async () => {
      const rssBefore = process.memoryUsage().rss;
      const bombs = [
        'function after_action() { var a = []; while (true) a.push(new Array(100000).fill(1.5)) }',
        "function after_action() { var a = []; for (var i = 0; ; i++) a.push('x'.repeat(1e6) + i) }",
        'function after_action() { var o = {}; for (var i = 0; ; i++) o["k" + i] = { i: i, s: "abcdefgh" + i } }',
        "function after_action() { var s = 'x'; while (true) s = s + s; }",
        'function after_action() { var bufs = []; while (true) bufs.push(new ArrayBuffer(8 * 1024 * 1024)) }',
      ];
      for (const src of bombs) {
        const r = await run(src, { timeoutMs: 5_000 });
        assert.ok(['SCRIPT_MEMORY', 'SCRIPT_ERROR', 'SCRIPT_TIMEOUT'].includes(code(r)), `${src}: ${JSON.stringify(r.result)}`);
        if (code(r) === 'SCRIPT_ERROR') assert.match((r.result as { error: { message: string } }).error.message, /memory|allocation|Invalid (string|array) length|too (large|long)|buffer/i);
        await healthy();
      }
      const stats = (await get()).stats();
      assert.ok(stats.recycledSandboxes >= 1 || stats.recycledContexts >= 1);
      assert.ok(process.memoryUsage().rss - rssBefore < 1024 * 1024 * 1024, 'host memory stayed bounded');
    });

    test('deep recursion is a script error, not a host crash', async () => {
      const r = await run('function after_action() { function f(n) { return f(n + 1) + 1 } return f(0) }');
      assert.equal(code(r), 'SCRIPT_ERROR');
      assert.match((r.result as { error: { message: string } }).error.message, /stack/i);
      const parse = await run("function after_action() { method_response = JSON.parse('['.repeat(100000) + ']'.repeat(100000)); return true }");
      assert.ok(['SCRIPT_ERROR', 'SCRIPT_OUTPUT_TOO_LARGE', 'ok'].includes(code(parse)));
      const caught = await run('function after_action() { function f() { f() } try { f() } catch (e) { method_response = "survived" } return true }');
      assert.equal(caught.globals.method_response, 'survived');
      await healthy();
    });

    test('huge return values are refused', async () => {
      const r = await run("function after_action() { method_response = 'x'.repeat(9 * 1024 * 1024); return true }", { timeoutMs: 5_000 });
      assert.ok(['SCRIPT_OUTPUT_TOO_LARGE', 'SCRIPT_MEMORY'].includes(code(r)), JSON.stringify(r.result));
      const wide = await run('function after_action() { var a = []; for (var i = 0; i < 400000; i++) a.push({ id: i, name: "name-" + i }); method_response = a; return true }', { timeoutMs: 5_000 });
      assert.ok(['SCRIPT_OUTPUT_TOO_LARGE', 'SCRIPT_MEMORY'].includes(code(wide)), JSON.stringify(wide.result));
      await healthy();
    });

    test('http_request to private addresses is refused by the host (SSRF guard)', async (t) => {
      const server = await startServer((_req, res) => res.end('internal secret'));
      t.after(() => server.close());
      const http = new HttpClient({ allowPrivateNetwork: false, retry: { maxAttempts: 1 } });
      t.after(() => http.close());
      const host = createHttpScriptHost({ http });
      const r = await run(
        `function after_action() {
          var urls = ['${server.url}/admin', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]:${server.port}/', 'http://localhost:${server.port}/', 'file:///etc/passwd', 'http://10.0.0.1/'];
          method_response = urls.map(function (u) { try { return http_request({ method: 'GET', url: u }).content } catch (e) { return 'refused: ' + e.message } });
          return true;
        }`,
        { host, timeoutMs: 5_000 },
      );
      assert.equal(code(r), 'ok', JSON.stringify(r.result));
      const out = r.globals.method_response as string[];
      for (const line of out) assert.match(line, /^refused: /);
      assert.match(out[0]!, /blocked/);
      assert.equal(server.requests.length, 0);
    });

    test("another account's or connector's storage is out of reach", async (t) => {
      const world = await storageWorld('sqlite');
      t.after(() => world.close());
      const repo = new ScriptStorageRepo(world.database.db);
      const [mine, theirs] = world.partners.p1.ac;
      await repo.connectorScope('p1', theirs).set('token', 'their-token');
      await repo.connectorScope('p2', world.partners.p2.ac[0]).set('token', 'other-partner-token');
      const host: ScriptHost = { storage: { connector: repo.connectorScope('p1', mine), cycle: repo.cycleScope('p1', mine, 'cy') } };
      const r = await run(
        `function after_action() {
          var tries = ['token', '../${theirs}/token', "' OR 1=1 --", '${theirs}', '%', '*', 'p1/${theirs}/token'];
          var found = [];
          tries.forEach(function (k) { var v = cyclr_storage_get(k); if (v !== null) found.push(v); v = cycle_storage_get(k); if (v !== null) found.push(v) });
          found = found.concat(cyclr_storage_list_values(), cycle_storage_list_values());
          var errors = [];
          try { cyclr_storage_get({ toString: function () { return 'token' } }) } catch (e) { errors.push(e.message) }
          method_response = { found: found, keys: cyclr_storage_list_keys(), errors: errors };
          return true;
        }`,
        { host },
      );
      assert.equal(code(r), 'ok', JSON.stringify(r.result));
      assert.deepEqual(r.globals.method_response, { found: [], keys: [], errors: ['cyclr_storage_get: the key must be a string'] });
      assert.equal(await repo.connectorScope('p1', theirs).get('token'), 'their-token');
    });

    test('nothing reaches the host after an execution has ended', async () => {
      let late = 0;
      let ended = false;
      const host: ScriptHost = {
        storage: { connector: new MemoryKeyValueStore() },
        httpRequest: async () => {
          if (ended) late++;
          return { status_code: 200, headers: {}, content: '', request: { method: 'GET', url: '', headers: {} } };
        },
      };
      const key = freshKey();
      await run(
        `function after_action() {
          Promise.resolve().then(function () { http_request({ url: 'https://api.example.com/a' }) });
          var p = new Promise(function (resolve) { globalThis.later = resolve });
          p.then(function () { http_request({ url: 'https://api.example.com/b' }) });
          return true;
        }`,
        { host, key },
      );
      ended = true;
      // The next execution of the same key cannot resume the previous one's pending work either.
      await run("function after_action() { if (typeof later === 'function') later(); return true }", { key, host: {} });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(late, 0);
    });

    test('misusing the runner is an error for the caller, not for the sandbox', async () => {
      const r = await get();
      await assert.rejects(r.runEvent({ event: 'after_action', isolationKey: '', sources: {}, globals: {} }), /isolationKey/);
      await assert.rejects(r.runEvent({ event: 'not_an_event' as 'after_action', isolationKey: 'k', sources: {}, globals: {} }), /unknown script event/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad = await r.runEvent({ event: 'after_action', isolationKey: freshKey(), sources: { method: 'function after_action() { return true }' }, globals: { method_response: cyclic } });
      assert.equal(code(bad), 'SCRIPT_INPUT');
      await healthy();
    });
  });
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(source)) {
    const v = source[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (!target[key] || typeof target[key] !== 'object') target[key] = {};
      deepMerge(target[key] as Record<string, unknown>, v as Record<string, unknown>);
    } else target[key] = v;
  }
  return target;
}

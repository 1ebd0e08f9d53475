// The action events wired into method calls (docs/scripting.md §11): every event's effect on a real
// request to a local HTTP server, its globals, the order across levels, false/throw, after_error's
// switches, AuthRefreshException/AuthSessionException, after_action_paging and action_condition.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compileRelease } from '../../src/runtime/compile.js';
import { runMethod } from '../../src/runtime/executor.js';
import type { MethodContext } from '../../src/runtime/executor.js';
import { testMethod } from '../../src/runtime/test-method.js';
import type { ActionScripts, ScriptOutcome } from '../../src/runtime/action-scripts.js';
import { createActionScripts, createScriptRunner, MemoryKeyValueStore } from '../../src/scripting/index.js';
import type { ScriptRunner } from '../../src/scripting/index.js';
import type { ConnectorDefinition, Method, ReleaseSettings } from '../../src/definition/schema.js';
import { serve, testClient } from '../helpers/api-servers.js';
import { startServer } from '../helpers/http-server.js';

const KEY = 'sk_signing_key_5f1e2d3c4b';
let runner: ScriptRunner;
before(async () => {
  runner = await createScriptRunner({ logger: null, sandboxes: 1 });
});
after(async () => {
  await runner.dispose();
});

const json = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const url = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x');

let n = 0;
const scriptsFor = (sources: { connector?: string | null; method?: string | null; step?: string | null }, extra: Record<string, unknown> = {}): ActionScripts | undefined =>
  createActionScripts(runner, { sources, isolationKey: `partner/test-${++n}`, context: 'CONNECTOR_TESTING', storage: { connector: new MemoryKeyValueStore() }, ...extra });

const settings: ReleaseSettings = { inboundPaging: true, inboundPageSize: 3 };
const release = (baseUrl: string, method: Partial<Method>, extra: Partial<ConnectorDefinition> = {}) => ({
  settings,
  definition: {
    baseUrl,
    authentications: [{ id: 'key', name: 'API key', type: 'apiKey' as const, in: 'header' as const, header: 'X-Api-Key', default: true }],
    methods: [{ id: 'm', name: 'M', http: { method: 'GET', path: '/items' }, ...method } as Method],
    ...extra,
  } as ConnectorDefinition,
});

test('end to end through testMethod: HMAC-signed requests, a reshaped response, paging on a script-computed cursor', async (t) => {
  // 7 items, 3 per page; the API gives no cursor, only `x-has-more`; it checks every signature.
  const items = Array.from({ length: 7 }, (_, i) => ({ item_id: `i${i + 1}`, item_name: `Item ${i + 1}` }));
  const server = await serve(
    t,
    startServer((req, res) => {
      const u = url(req);
      const expected = createHmac('sha256', KEY).update(`${req.method} ${u.pathname}${u.search}`).digest('base64');
      if (req.headers['x-signature'] !== expected) return json(res, { error: 'bad signature' }, 401);
      const afterId = u.searchParams.get('after');
      const start = afterId ? items.findIndex((i) => i.item_id === afterId) + 1 : 0;
      const page = items.slice(start, start + 3);
      json(res, { items: page }, 200, { 'x-has-more': String(start + 3 < items.length) });
    }),
  );
  const connectorScript = `
    function before_action() {
      var q = [];
      for (var k in method_request_parameters) q.push(encodeURIComponent(k) + '=' + encodeURIComponent(method_request_parameters[k]));
      var path = method_endpoint.replace(/^https?:\\/\\/[^/]+/, '');
      method_request_headers['X-Signature'] = cyclr_sign('HMAC-SHA256', method_auth_value, 'GET ' + path + (q.length ? '?' + q.join('&') : ''));
      return true;
    }`;
  const methodScript = `
    function after_action() {
      var items = method_response.items;
      method_response = {
        records: items.map(function (i) { return { id: i.item_id, name: i.item_name.toUpperCase() }; }),
        next: method_response_headers['x-has-more'] === 'true' ? items[items.length - 1].item_id : null
      };
      return true;
    }`;
  const rel = release(
    server.url,
    {
      script: methodScript,
      parameters: [
        { name: 'after', target: 'query', value: '{{PAGE_TOKEN}}' },
        { name: 'Next', target: 'responseField', targetName: 'next', value: '{{PAGE_TOKEN}}' },
      ],
      records: 'records',
      response: { fields: [{ location: 'id', field: 'Id' }, { location: 'name', field: 'Name' }] },
    },
    { script: connectorScript },
  );
  const result = await testMethod(rel, 'm', { auth: { ApiKey: KEY } }, testClient(t), {
    scripts: ({ scriptParameters, ...sources }) => scriptsFor(sources, { scriptParameters, http: testClient(t) }),
  });
  assert.equal(result.ok, true, JSON.stringify(result.error));
  assert.deepEqual(
    result.records.map((r) => r.Id),
    items.map((i) => i.item_id),
  );
  assert.equal(result.records[0]!.Name, 'ITEM 1');
  assert.equal(server.requests.length, 3);
  assert.deepEqual(
    server.requests.map((r) => url({ url: r.url } as IncomingMessage).searchParams.get('after')),
    [null, 'i3', 'i6'],
  );
  assert.ok(server.requests.every((r) => typeof r.headers['x-signature'] === 'string'));
  assert.equal(server.requests[0]!.headers['x-api-key'], KEY, 'the untouched auth header is sent intact');
  assert.ok(!JSON.stringify(result).includes(KEY));
});

test('before_action changes endpoint, headers, query parameters and body; globals are the documented ones', async (t) => {
  const server = await serve(t, startServer((_req, res) => json(res, { ok: true, id: 'x1' })));
  const script = `
    function before_action() {
      method_endpoint = method_endpoint.replace('/contacts', '/v2/people');
      method_request_parameters.added = 'yes';
      delete method_request_parameters.drop;
      method_request_headers['X-Seen'] = JSON.stringify({
        auth: method_auth_value === undefined ? 'none' : method_auth_value.length,
        lsrd: last_successful_run_date, ctx: script_execution_context, mf: method_request_mergefields,
        sp: script_parameters, cv: typeof cycle_variables, acct: cyclr_account_id
      });
      method_request.name = method_request.name + ' (signed)';
      method_request.extra = [1, 2];
      return true;
    }`;
  const rel = release(server.url, {
    http: { method: 'POST', path: '/contacts' },
    parameters: [{ name: 'drop', target: 'query', value: 'me' }, { name: 'keep', target: 'query', value: 'k' }],
    request: { fields: [{ location: 'name', field: 'Name' }] },
  });
  const run = await runMethod(compileRelease(rel.settings, rel.definition), 'm', {
    auth: { values: { ApiKey: KEY } },
    fields: { Name: 'Ada' },
    vars: { LastSuccessfulRunDate: '2024-01-02T03:04:05Z' },
    http: testClient(t),
    scripts: scriptsFor({ method: script }, { mergefields: { Name: 'Ada' }, scriptParameters: { region: 'eu' }, ids: { accountId: 'acc_1' } }),
  });
  assert.equal(run.ok, true, String(run.error));
  const got = server.requests[0]!;
  const u = url({ url: got.url } as IncomingMessage);
  assert.equal(u.pathname, '/v2/people');
  assert.equal(u.searchParams.get('added'), 'yes');
  assert.equal(u.searchParams.get('keep'), 'k');
  assert.equal(u.searchParams.get('drop'), null);
  assert.deepEqual(JSON.parse(got.body), { name: 'Ada (signed)', extra: [1, 2] });
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(got.headers['x-api-key'], KEY);
  assert.deepEqual(JSON.parse(String(got.headers['x-seen'])), {
    auth: KEY.length,
    lsrd: '2024-01-02T03:04:05Z',
    ctx: 'CONNECTOR_TESTING',
    mf: { Name: 'Ada' },
    sp: { region: 'eu' },
    cv: 'object',
    acct: 'acc_1',
  });
});

test('order across levels: before_action method → connector → step; after_action connector → method → step', async (t) => {
  const server = await serve(t, startServer((req, res) => json(res, { order: [], got: req.headers['x-order'] })));
  const level = (name: string) => `
    function before_action() { method_request_headers['X-Order'] = (method_request_headers['X-Order'] ? method_request_headers['X-Order'] + ',' : '') + '${name}'; return true; }
    function after_action() { method_response.order.push('${name}'); return true; }`;
  const rel = release(server.url, { records: '' });
  const run = await runMethod(compileRelease(rel.settings, rel.definition), 'm', {
    auth: { values: { ApiKey: KEY } },
    http: testClient(t),
    scripts: scriptsFor({ connector: level('connector'), method: level('method'), step: level('step') }),
  });
  assert.equal(run.ok, true, String(run.error));
  assert.equal(server.requests[0]!.headers['x-order'], 'method,connector,step');
  assert.deepEqual(run.records, [{ order: ['connector', 'method', 'step'], got: 'method,connector,step' }]);
});

test('action_data and method_request_mergefields carry from before_action to after_action, after_action_paging and action_condition', async (t) => {
  let page = 0;
  const server = await serve(t, startServer((_req, res) => json(res, { rows: [{ v: ++page }], more: page < 2 })));
  const script = `
    function before_action() { action_data.calls = (action_data.calls || 0) + 1; method_request_mergefields.seen = action_data.calls; return true; }
    function after_action() { method_response.rows[0].calls = action_data.calls; method_response.rows[0].mf = method_request_mergefields.seen; method_response.next = method_response.more ? 'p' + (action_data.calls + 1) : null; return true; }
    function after_action_paging() {
      method_response.push({ v: 'total', calls: action_data.calls, mf: method_request_mergefields.seen, lsrd: last_successful_run_date });
      next_last_successful_run_date = '2030-01-01T00:00:00Z';
      action_data.paged = true;
      return true;
    }
    function action_condition() { return action_data.paged === true && method_response.length === 3; }`;
  const rel = release(server.url, {
    parameters: [{ name: 'cursor', target: 'query', value: '{{PAGE_TOKEN}}' }, { name: 'Next', target: 'responseField', targetName: 'next', value: '{{PAGE_TOKEN}}' }],
    records: 'rows',
  });
  const outcomes: ScriptOutcome[] = [];
  const run = await runMethod(compileRelease(rel.settings, rel.definition), 'm', {
    auth: { values: { ApiKey: KEY } },
    http: testClient(t),
    vars: { LastSuccessfulRunDate: '2020-05-05T00:00:00Z' },
    scripts: scriptsFor({ connector: script }),
    onScriptOutcome: (o) => outcomes.push(o),
  });
  assert.equal(run.ok, true, String(run.error));
  assert.equal(server.requests.length, 2);
  assert.deepEqual(run.records, [
    { v: 1, calls: 1, mf: 1 },
    { v: 2, calls: 2, mf: 2 },
    { v: 'total', calls: 2, mf: 2, lsrd: '2020-05-05T00:00:00Z' },
  ]);
  assert.equal(outcomes.length, 1);
  assert.equal(outcomes[0]!.nextLastSuccessfulRunDate, '2030-01-01T00:00:00Z');
  assert.equal(outcomes[0]!.route, true);
});

test('action_condition: false takes the False route; no handler: no route is reported', async (t) => {
  const server = await serve(t, startServer((_req, res) => json(res, { status: 'closed' })));
  const rel = release(server.url, {});
  const routes: Array<boolean | undefined> = [];
  for (const script of ['function action_condition() { return method_response.status === "open"; }', 'function after_action() { return true; }']) {
    const run = await runMethod(compileRelease(rel.settings, rel.definition), 'm', {
      auth: { values: { ApiKey: KEY } },
      http: testClient(t),
      scripts: scriptsFor({ method: script }),
      onScriptOutcome: (o) => routes.push(o.route),
    });
    assert.equal(run.ok, true, String(run.error));
  }
  assert.deepEqual(routes, [false, undefined]);
});

test('before_action returning false sends nothing (a warning, not an error); throw fails with the message, level and line', async (t) => {
  const server = await serve(t, startServer((_req, res) => json(res, { ok: true })));
  const rel = release(server.url, {});
  const compiled = compileRelease(rel.settings, rel.definition);
  const ctx = (script: string): MethodContext => ({ auth: { values: { ApiKey: KEY } }, http: testClient(t), scripts: scriptsFor({ method: script }) });

  const aborted = await runMethod(compiled, 'm', ctx('function before_action() { return false; }'));
  assert.equal(aborted.ok, true);
  assert.equal(aborted.records.length, 0);
  assert.equal(aborted.warnings[0]?.code, 'SCRIPT_ABORTED');
  assert.match(aborted.warnings[0]!.message, /method level\) returned false/);
  assert.equal(server.requests.length, 0);

  const thrown = await runMethod(compiled, 'm', ctx('function before_action() {\n  throw new Error("no region set for " + method_auth_value);\n}'));
  assert.equal(thrown.ok, false);
  const message = String((thrown.error as Error).message);
  assert.match(message, /before_action script failed \(method level, line 2, column \d+\): .*no region set for \[REDACTED\]/);
  assert.ok(!message.includes(KEY));
  assert.equal(server.requests.length, 0);

  const late = await runMethod(compiled, 'm', ctx('function after_action() { throw new Error("bad body " + method_response.ok); }'));
  assert.equal(late.ok, false);
  assert.match(String((late.error as Error).message), /after_action script failed.*bad body true/);
  assert.equal(server.requests.length, 1);
});

test('after_error: isSuccess uses the content as the body, isWarning warns and goes on, isError (default) fails', async (t) => {
  const server = await serve(t, startServer((_req, res) => json(res, { message: 'Email Address not valid' }, 400)));
  const rel = release(server.url, { response: { fields: [{ location: 'id', field: 'Id' }] } });
  const compiled = compileRelease(rel.settings, rel.definition);
  const run = (script: string) => runMethod(compiled, 'm', { auth: { values: { ApiKey: KEY } }, http: testClient(t), scripts: scriptsFor({ connector: script }) });

  const success = await run(`function after_error() {
    if (method_error.statusCode === 400 && JSON.parse(method_error.content).message === 'Email Address not valid' && method_error.reasonPhrase === 'Bad Request') {
      method_error.isError = false; method_error.isSuccess = true; method_error.content = '{"id":"fallback"}';
    }
    return true;
  }`);
  assert.equal(success.ok, true, String(success.error));
  assert.deepEqual(success.records, [{ Id: 'fallback' }]);

  const warning = await run('function after_error() { method_error.isError = false; method_error.isWarning = true; return true; }');
  assert.equal(warning.ok, true);
  assert.equal(warning.records.length, 0);
  assert.equal(warning.warnings[0]?.code, 'SCRIPT_WARNING');
  assert.match(warning.warnings[0]!.message, /HTTP 400 Bad Request.*Email Address not valid/);

  const failed = await run('function after_error() { action_data.x = 1; return true; }');
  assert.equal(failed.ok, false);
  assert.equal((failed.error as { status?: number }).status, 400);
  assert.equal(server.requests.length, 3);
});

test('AuthRefreshException refreshes the OAuth2 token and retries once', async (t) => {
  // (The token itself is masked in what scripts see, so the API says whether it is the fresh one.)
  const server = await serve(t, startServer((req, res) => json(res, { fresh: String(req.headers.authorization).endsWith('-fresh') })));
  let tokens = 0;
  const rel = release(server.url, {}, {
    authentications: [{ id: 'oauth', name: 'OAuth', type: 'oauth2', grant: 'clientCredentials', tokenUrl: `${server.url}/token`, default: true }],
  });
  const ctx = (script: string): MethodContext => ({
    auth: { id: 'oauth', values: {} },
    http: testClient(t),
    tokenProvider: { getToken: async (force) => `tok-${++tokens}${force ? '-fresh' : ''}` },
    scripts: scriptsFor({ connector: script }),
  });
  const run = await runMethod(compileRelease(rel.settings, rel.definition), 'm', ctx(`function after_action() {
    if (!method_response.fresh) throw new AuthRefreshException();
    return true;
  }`));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(run.records, [{ fresh: true }]);
  assert.deepEqual(server.requests.map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-2-fresh']);

  // Thrown again after the retry: the call fails (no loop).
  const again = await runMethod(compileRelease(rel.settings, rel.definition), 'm', ctx('function after_action() { throw new AuthRefreshException(); }'));
  assert.equal(again.ok, false);
  assert.match(String((again.error as Error).message), /AuthRefreshException: the request failed again after a token refresh/);
  assert.equal(server.requests.length, 4);
});

test('AuthSessionException re-runs the session lookup (renewSession) with the new properties, then retries once', async (t) => {
  const server = await serve(t, startServer((req, res) => (req.headers['x-session'] === 'fresh' ? json(res, { ok: true }) : json(res, { error_code: 'You are not logged on.' }))));
  const rel = release(server.url, { parameters: [{ name: 'session', target: 'header', targetName: 'X-Session', value: '{{SessionToken}}' }] });
  let renewed = 0;
  const script = 'function after_action() { if (method_response.error_code === "You are not logged on.") throw new AuthSessionException(); return true; }';
  const run = await runMethod(compileRelease(rel.settings, rel.definition), 'm', {
    auth: { values: { ApiKey: KEY } },
    properties: { SessionToken: 'stale' },
    http: testClient(t),
    scripts: scriptsFor({ connector: script }),
    renewSession: async () => {
      renewed++;
      return { SessionToken: 'fresh' };
    },
  });
  assert.equal(run.ok, true, String(run.error));
  assert.equal(renewed, 1);
  assert.deepEqual(server.requests.map((r) => r.headers['x-session']), ['stale', 'fresh']);

  // Without a way to renew: an AuthSessionException for the caller.
  const unhandled = await runMethod(compileRelease(rel.settings, rel.definition), 'm', {
    auth: { values: { ApiKey: KEY } },
    properties: { SessionToken: 'stale' },
    http: testClient(t),
    scripts: scriptsFor({ connector: script }),
  });
  assert.equal(unhandled.ok, false);
  assert.equal((unhandled.error as Error).name, 'AuthSessionException');
});

test('outbound paging: before_action runs per chunk and can skip one', async (t) => {
  const server = await serve(t, startServer((_req, res, body) => json(res, { results: (JSON.parse(body) as { records: Array<{ name: string }> }).records.map((r) => ({ id: `id-${r.name}` })) })));
  const rel = {
    settings: { outboundPaging: true, outboundPageSize: 2 } as ReleaseSettings,
    definition: {
      baseUrl: server.url,
      methods: [
        {
          id: 'bulk',
          name: 'Bulk',
          http: { method: 'POST', path: '/bulk' },
          request: { fields: [{ location: 'records[].name', field: 'Name' }] },
          paging: { outboundLocation: 'records' },
          records: 'results',
          script: `function before_action() {
            if (method_request.records[0].name === 'c2') return false;
            action_data.n = (action_data.n || 0) + 1;
            method_request_headers['X-Chunk'] = String(action_data.n);
            return true;
          }`,
        },
      ],
    } as ConnectorDefinition,
  };
  const result = await testMethod(rel, 'bulk', { auth: {}, fields: { Name: ['c0', 'c1', 'c2', 'c3', 'c4'] } }, testClient(t), {
    scripts: ({ scriptParameters: _s, ...sources }) => scriptsFor(sources),
  });
  assert.equal(result.ok, true, JSON.stringify(result.error));
  assert.deepEqual(result.chunks?.map((c) => [c.ok, c.warning === undefined]), [[true, true], [true, false], [true, true]]);
  assert.deepEqual(server.requests.map((r) => r.headers['x-chunk']), ['1', '2']);
  assert.deepEqual(result.records.map((r) => r.id), ['id-c0', 'id-c1', 'id-c4']);
  assert.equal(result.warnings[0]?.code, 'SCRIPT_ABORTED');
});

test('no script mentioning an action event: no hook is made', () => {
  assert.equal(scriptsFor({ connector: 'function before_webhook() { return true; }', method: null }), undefined);
  assert.equal(scriptsFor({}), undefined);
  const scripts = scriptsFor({ method: 'function after_error() { return true; }' })!;
  assert.equal(scripts.handles('after_error'), true);
  assert.equal(scripts.handles('before_action'), false);
});

// End to end against a real local HTTP server, driving the hooks as the executor will: scripts sign
// requests (HMAC with method_auth_value, the only secret a script sees), reshape responses, page with a script-computed cursor, turn an error into a success and
// call the API themselves through http_request (credentials only for the connector's own origin).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ENGINES, freshKey, runnerFor } from './engines.js';
import { startServer } from '../helpers/http-server.js';
import { HttpClient } from '../../src/runtime/http/http-client.js';
import { EventDispatcher, joinUrl, splitUrl } from '../../src/scripting/event-dispatcher.js';
import { ScriptCallState } from '../../src/scripting/call-state.js';
import { MemoryKeyValueStore, createHttpScriptHost } from '../../src/scripting/script-host.js';

const API_KEY = 'key_live_5up3r53cr3t';

const CONNECTOR_SCRIPT = `
function before_action() {
  method_request_headers['X-Api-Key'] = method_auth_value;
  var ts = '1700000000';
  method_request_headers['X-Timestamp'] = ts;
  method_request_headers['X-Signature'] = cyclr_sign('HMAC-SHA256', method_auth_value, ts + ':' + method_endpoint.replace(/^https?:\\/\\/[^/]+/, ''));
  return true;
}
function after_action() {
  // Key/value pairs into an object (Cyclr's documented example).
  method_response.items = method_response.items.map(function (item) {
    var props = {};
    for (var i = 0; i < item.properties.length; i++) props[item.properties[i].key] = item.properties[i].value;
    return { id: item.id, props: props };
  });
  return true;
}
function after_error() {
  if (method_error.statusCode === 404) { method_error.isError = false; method_error.isSuccess = true; method_error.content = '{"items":[]}'; }
  return true;
}`;

const METHOD_SCRIPT = `
function before_action() {
  if (method_request_mergefields.cursor) method_request_parameters.after = method_request_mergefields.cursor;
  action_data.pages = (action_data.pages || 0) + 1;
  return true;
}
function after_action() {
  var items = method_response.items;
  // The API has no cursor: the script computes one from the last record.
  method_request_mergefields.cursor = items.length === 2 ? String(items[items.length - 1].id) : null;
  if (items.length) {
    var detail = http_request({ method: 'GET', url: method_endpoint.replace(/\\/contacts$/, '/contacts/' + items[0].id) });
    items[0].detail = JSON.parse(detail.content);
    var other = http_request({ method: 'GET', url: script_parameters.other_origin + '/peek' });
    items[0].otherSawAuth = JSON.parse(other.content).auth;
  }
  cyclr_storage_increment('pages_read', 1);
  return true;
}
function after_action_paging() {
  method_response = { count: method_response.length, ids: method_response.map(function (r) { return r.id }), pages: action_data.pages };
  return true;
}`;

for (const engine of ENGINES) {
  describe(`scripts end to end on ${engine}`, () => {
    test('signing, reshaping, script-computed paging, http_request and after_error against a local API', async (t) => {
      const records = [1, 2, 3, 4, 5].map((id) => ({ id, properties: [{ key: 'email', value: `u${id}@example.com` }, { key: 'name', value: `User ${id}` }] }));
      const api = await startServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        const expected = createHmac('sha256', API_KEY).update(`1700000000:${url.pathname}`).digest('base64');
        res.setHeader('content-type', 'application/json');
        if (req.headers['x-api-key'] !== API_KEY) return res.writeHead(401).end('{"error":"no key"}');
        if (url.pathname === '/contacts') {
          if (req.headers['x-signature'] !== expected) return res.writeHead(403).end('{"error":"bad signature"}');
          const after = Number(url.searchParams.get('after') ?? 0);
          return res.end(JSON.stringify({ items: records.filter((r) => r.id > after).slice(0, 2) }));
        }
        if (url.pathname.startsWith('/contacts/')) return res.end(JSON.stringify({ id: Number(url.pathname.split('/')[2]), full: true }));
        return res.writeHead(404).end('{"error":"nope"}');
      });
      const other = await startServer((req, res) => res.end(JSON.stringify({ auth: req.headers['x-api-key'] ?? null })));
      t.after(() => api.close());
      t.after(() => other.close());
      const http = new HttpClient({ allowPrivateNetwork: true, retry: { maxAttempts: 1 } });
      t.after(() => http.close());
      const storage = new MemoryKeyValueStore();
      const host = createHttpScriptHost({
        http,
        authOrigins: [api.url],
        authorize: (req) => ({ ...req, headers: { ...req.headers, 'X-Api-Key': API_KEY } }),
        secrets: [API_KEY],
        storage: { connector: storage },
      });
      const scripts = new EventDispatcher(await runnerFor(engine), {
        isolationKey: freshKey('partner/account'),
        sources: { connector: CONNECTOR_SCRIPT, method: METHOD_SCRIPT },
        host,
        scriptParameters: { other_origin: other.url },
      });

      // The executor's loop: before_action → send → after_action → next page.
      const state = new ScriptCallState();
      const all: Array<{ id: number; props: Record<string, string>; detail?: unknown; otherSawAuth?: unknown }> = [];
      for (let page = 1; page <= 10; page++) {
        const before = await scripts.beforeAction({ endpoint: `${api.url}/contacts`, headers: { Accept: 'application/json' }, parameters: {} }, state, { authValue: API_KEY });
        assert.deepEqual(before.result, { kind: 'ok' });
        const res = await http.send({ method: 'GET', url: joinUrl(before.request.endpoint, before.request.parameters), headers: before.request.headers, secrets: [API_KEY] });
        assert.equal(res.status, 200, res.body.toString());
        const after = await scripts.afterAction(before.request, { status: res.status, headers: res.headers, body: JSON.parse(res.body.toString()) }, state);
        assert.deepEqual(after.result, { kind: 'ok' }, JSON.stringify(after.result));
        all.push(...(after.response.body as { items: typeof all }).items);
        if (!state.mergefields.cursor) break;
      }
      assert.deepEqual(
        all.map((r) => r.id),
        [1, 2, 3, 4, 5],
      );
      assert.deepEqual(all[0]!.props, { email: 'u1@example.com', name: 'User 1' });
      assert.deepEqual(all[0]!.detail, { id: 1, full: true });
      // Credentials went to the connector's origin only.
      assert.equal(all[0]!.otherSawAuth, null);
      assert.equal(await storage.get('pages_read'), 3);
      const paging = await scripts.afterActionPaging({ body: all }, state);
      assert.deepEqual(paging.body, { count: 5, ids: [1, 2, 3, 4, 5], pages: 3 });
      // Every request carried a valid signature and the key, with the script's cursor.
      const listCalls = api.requests.filter((r) => r.url.startsWith('/contacts?') || r.url === '/contacts');
      assert.deepEqual(
        listCalls.map((r) => splitUrl(`http://x${r.url}`).parameters.after ?? null),
        [null, '2', '4'],
      );

      // after_error turns the 404 into a success.
      const missing = await scripts.afterError({ statusCode: 404, reasonPhrase: 'Not Found', content: '{"error":"nope"}' }, state);
      assert.deepEqual(missing.methodError, { statusCode: 404, reasonPhrase: 'Not Found', content: '{"items":[]}', isError: false, isWarning: false, isSuccess: true });
    });
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testMethod, TEST_BODY_CHARS } from '../../src/runtime/test-method.js';
import { ReleaseCache, compileRelease } from '../../src/runtime/compile.js';
import { runMethod } from '../../src/runtime/executor.js';
import { PlexusError } from '../../src/errors/errors.js';
import type { HttpRequest, HttpResponse } from '../../src/runtime/http/http-client.js';
import type { ConnectorDefinition, ReleaseSettings } from '../../src/definition/schema.js';
import { pageNumberApi, serve, statusApi, testClient } from '../helpers/api-servers.js';
import { startServer } from '../helpers/http-server.js';

const KEY = 'key_live_7f3a9c2b';

const release = (baseUrl: string): { settings: ReleaseSettings; definition: ConnectorDefinition } => ({
  settings: { inboundPaging: true, inboundPageSize: 10 },
  definition: {
    baseUrl,
    authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'query', query: 'apikey', default: true }],
    methods: [
      {
        id: 'list-contacts',
        name: 'List Contacts',
        http: { method: 'GET', path: '/contacts' },
        parameters: [
          { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
          { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
          { name: 'Status', target: 'query' },
        ],
        records: 'data',
        response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }] },
      },
      { id: 'hook', name: 'New Contact', type: 'webhook' },
    ],
  },
});

test('testMethod: JSON-safe result with redacted requests, responses, records, timings', async (t) => {
  const server = await serve(t, pageNumberApi(25));
  const result = await testMethod(release(server.url), 'list-contacts', { auth: { ApiKey: KEY }, parameters: { Status: 'open' } }, testClient(t));
  assert.equal(result.ok, true, JSON.stringify(result.error));
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
  assert.equal(result.records.length, 25);
  assert.deepEqual(result.records[0], { ContactId: 'r1', Email: 'user1@example.com' });
  assert.equal(result.requests.length, 3);
  assert.equal(result.requests[0]!.method, 'GET');
  assert.equal(result.requests[0]!.url, `${server.url}/contacts?page=1&per_page=10&Status=open&apikey=[REDACTED]`);
  assert.equal(result.responses.length, 3);
  assert.equal(result.responses[0]!.status, 200);
  assert.ok(result.responses[0]!.body.startsWith('{"data":[{"id":"r1"'));
  assert.equal(result.timings.perRequest.length, 3);
  assert.ok(result.timings.totalMs >= result.timings.perRequest.reduce((a, b) => a + b, 0) * 0.5);
  assert.deepEqual(result.warnings, []);
  assert.ok(!JSON.stringify(result).includes(KEY));
  assert.equal(server.requests[0]!.url.includes(`apikey=${KEY}`), true);
});

test('testMethod: bodies are cut to 4 KB; test runs stop at 10 pages by default', async (t) => {
  const big = 'x'.repeat(500);
  const server = await serve(
    t,
    startServer((req, res) => {
      const page = new URL(req.url!, 'http://x').searchParams.get('page');
      res.end(JSON.stringify({ data: Array.from({ length: 10 }, (_, i) => ({ id: `${page}-${i}`, email: big })) }));
    }),
  );
  const result = await testMethod(release(server.url), 'list-contacts', { auth: { ApiKey: KEY }, parameters: { Status: 'x' } }, testClient(t));
  assert.equal(result.ok, true);
  assert.equal(result.requests.length, 10);
  assert.equal(result.warnings[0]?.code, 'PAGING_MAX_PAGES');
  assert.ok(result.responses.every((r) => r.body.length <= TEST_BODY_CHARS + 1 && r.body.endsWith('…')));
  const two = await testMethod(release(server.url), 'list-contacts', { auth: { ApiKey: KEY }, parameters: { Status: 'x' }, maxPages: 2 }, testClient(t));
  assert.equal(two.requests.length, 2);
});

test('testMethod: API errors and input errors are reported, not thrown', async (t) => {
  const server = await serve(t, statusApi(404, { message: `no such list for ${KEY}` }));
  const result = await testMethod(release(server.url), 'list-contacts', { auth: { ApiKey: KEY }, parameters: { Status: 'x' } }, testClient(t));
  assert.equal(result.ok, false);
  assert.equal(result.error?.kind, 'status');
  assert.equal(result.error?.status, 404);
  assert.match(result.error?.message ?? '', /HTTP 404 Not Found/);
  assert.equal(result.responses[0]?.status, 404);
  assert.ok(!JSON.stringify(result).includes(KEY));

  const missing = await testMethod(release(server.url), 'list-contacts', { auth: { ApiKey: KEY } }, testClient(t));
  assert.deepEqual(missing.error, { kind: 'input', message: 'missing required parameter "Status"' });
  assert.equal(missing.requests.length, 0);

  const webhook = await testMethod(release(server.url), 'hook', { auth: { ApiKey: KEY } }, testClient(t));
  assert.equal(webhook.error?.kind, 'input');

  await assert.rejects(testMethod(release(server.url), 'nope', { auth: {} }, testClient(t)), (err: unknown) => err instanceof PlexusError && err.statusCode === 404);
  const badAuth = await testMethod(release(server.url), 'list-contacts', { authId: 'other', auth: {}, parameters: { Status: 'x' } }, testClient(t));
  assert.equal(badAuth.error?.kind, 'input');
});

test('rate limits of the release/method go to the HttpClient with the rate-limit key', async (t) => {
  const seen: HttpRequest[] = [];
  const stub = {
    send: async (req: HttpRequest): Promise<HttpResponse> => {
      seen.push(req);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"data":[]}'), url: req.url, attempts: 1, timings: { startedAt: 0, durationMs: 1 } };
    },
  };
  const r = release('https://api.example.com');
  r.definition.rateLimits = { requestsPerSecond: 10 };
  r.definition.methods![0]!.rateLimits = { secondsBetweenRequests: 2 };
  const compiled = compileRelease(r.settings, r.definition);
  await runMethod(compiled, 'list-contacts', { auth: { values: { ApiKey: KEY } }, parameters: { Status: 'a' }, http: stub, rateLimitKey: 'acct-conn-1' });
  assert.equal(seen[0]!.rateLimitKey, 'acct-conn-1');
  assert.deepEqual(seen[0]!.rateLimits, { requestsPerSecond: 10, secondsBetweenRequests: 2 });
  assert.ok(seen[0]!.secrets?.includes(KEY));

  // With a real client the limiter spaces the pages (sleeps are recorded, not waited).
  const server = await serve(t, pageNumberApi(25));
  const sleeps: number[] = [];
  const http = testClient(t, { sleep: async (ms) => void sleeps.push(ms) });
  const real = compileRelease(r.settings, { ...r.definition, baseUrl: server.url });
  const run = await runMethod(real, 'list-contacts', { auth: { values: { ApiKey: KEY } }, parameters: { Status: 'a' }, http, rateLimitKey: 'acct-conn-2' });
  assert.equal(run.records.length, 25);
  assert.equal(sleeps.length, 2);
  // The first wait is one full gap (later ones add up because these sleeps take no time).
  assert.ok(sleeps[0]! > 1500 && sleeps[0]! <= 2000, String(sleeps));
});

test('ReleaseCache compiles a release once per key and evicts the least recently used', () => {
  const cache = new ReleaseCache(2);
  let loads = 0;
  const load = () => {
    loads++;
    return release('https://api.example.com');
  };
  const a = cache.get('rel_a', load);
  assert.equal(cache.get('rel_a', load), a);
  assert.equal(a.releaseId, 'rel_a');
  cache.get('rel_b', load);
  cache.get('rel_a', load); // a is now the most recent
  cache.get('rel_c', load); // evicts b
  assert.equal(loads, 3);
  cache.get('rel_b', load);
  assert.equal(loads, 4);
  assert.equal(cache.size, 2);
  cache.delete('rel_b');
  assert.equal(cache.size, 1);
});

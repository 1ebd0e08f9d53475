import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { HttpClient } from '../../../src/runtime/http/http-client.js';
import type { AttemptInfo, HttpClientOptions } from '../../../src/runtime/http/http-client.js';
import { HttpCallError, HttpTimeoutError, statusError } from '../../../src/runtime/http/errors.js';
import { startServer } from '../../helpers/http-server.js';

/** A client whose sleeps are recorded instead of waited, with fixed jitter (0.5). */
function makeClient(t: { after: (fn: () => Promise<void>) => void }, opts: Partial<HttpClientOptions> = {}) {
  const sleeps: number[] = [];
  const attempts: AttemptInfo[] = [];
  const client = new HttpClient({
    allowPrivateNetwork: true,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onAttempt: (info) => attempts.push(info),
    ...opts,
  });
  t.after(() => client.close());
  return { client, sleeps, attempts };
}

test('GET returns status, headers, body, final URL, attempts and timings', async (t) => {
  const server = await startServer((req, res) => {
    res.setHeader('x-multi', ['a', 'b']);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization }));
  });
  t.after(() => server.close());
  const { client, attempts } = makeClient(t);
  const before = Date.now();
  const res = await client.send({ method: 'get', url: `${server.url}/me?x=1`, headers: { Authorization: 'Bearer tok' } });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body.toString()), { path: '/me?x=1', auth: 'Bearer tok' });
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(res.headers['x-multi'], ['a', 'b']);
  assert.equal(res.url, `${server.url}/me?x=1`);
  assert.equal(res.attempts, 1);
  assert.ok(res.timings.startedAt >= before && res.timings.durationMs >= 0);
  assert.equal(server.requests[0]!.headers['user-agent'], 'Plexus');
  assert.deepEqual(attempts.map((a) => [a.attempt, a.method, a.status]), [[1, 'GET', 200]]);
});

test('POST sends the body; 4xx is returned as a response, not thrown', async (t) => {
  const server = await startServer((_req, res, body) => {
    res.statusCode = 422;
    res.end(`rejected ${body}`);
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t);
  const res = await client.send({ method: 'POST', url: server.url, headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  assert.equal(res.status, 422);
  assert.equal(res.body.toString(), 'rejected {"a":1}');
  assert.equal(server.requests[0]!.method, 'POST');
  assert.equal(res.attempts, 1);
  assert.deepEqual(sleeps, []);
});

test('429 honours Retry-After in seconds, for POST too (a 429 was not processed)', async (t) => {
  const server = await startServer((_req, res, _body, i) => {
    if (i === 0) {
      res.writeHead(429, { 'retry-after': '7' });
      return void res.end('slow down');
    }
    res.end('ok');
  });
  t.after(() => server.close());
  const { client, sleeps, attempts } = makeClient(t);
  const res = await client.send({ method: 'POST', url: server.url, body: 'x' });
  assert.equal(res.status, 200);
  assert.equal(res.attempts, 2);
  assert.deepEqual(sleeps, [7000]);
  assert.equal(server.requests.length, 2);
  assert.deepEqual(attempts.map((a) => [a.status, a.retryInMs, a.retryReason]), [[429, 7000, 'rate_limited'], [200, undefined, undefined]]);
});

test('429 honours Retry-After as an HTTP date', async (t) => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const server = await startServer((_req, res, _body, i) => {
    if (i === 0) {
      res.writeHead(429, { 'retry-after': new Date(now + 120_000).toUTCString() });
      return void res.end();
    }
    res.end('ok');
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t, { now: () => now });
  const res = await client.send({ method: 'GET', url: server.url });
  assert.equal(res.status, 200);
  assert.deepEqual(sleeps, [120_000]);
});

test('429 without Retry-After waits the default 60 s', async (t) => {
  const server = await startServer((_req, res, _body, i) => {
    res.statusCode = i === 0 ? 429 : 200;
    res.end();
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t);
  assert.equal((await client.send({ method: 'GET', url: server.url })).status, 200);
  assert.deepEqual(sleeps, [60_000]);
});

test('persistent 429s escalate the wait (+1, 3, 7, 15 min) and give up after max429Retries, returning the 429', async (t) => {
  const server = await startServer((_req, res) => {
    res.statusCode = 429;
    res.end('still limited');
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t);
  const res = await client.send({ method: 'GET', url: server.url });
  assert.equal(res.status, 429);
  assert.equal(res.attempts, 6);
  assert.equal(server.requests.length, 6);
  assert.deepEqual(sleeps, [60_000, 120_000, 240_000, 480_000, 960_000]);
});

test('escalation adds to Retry-After and its last step repeats', async (t) => {
  const server = await startServer((_req, res) => {
    res.writeHead(429, { 'retry-after': '10' });
    res.end();
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t, { retry: { max429Retries: 4, escalation429Ms: [1000, 2000] } });
  const res = await client.send({ method: 'GET', url: server.url });
  assert.equal(res.attempts, 5);
  assert.deepEqual(sleeps, [10_000, 11_000, 12_000, 12_000]);
});

test('a 429 asking for a wait beyond max429DelayMs is returned at once', async (t) => {
  const server = await startServer((_req, res) => {
    res.writeHead(429, { 'retry-after': '86400' });
    res.end();
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t);
  const res = await client.send({ method: 'GET', url: server.url });
  assert.equal(res.status, 429);
  assert.equal(res.attempts, 1);
  assert.deepEqual(sleeps, []);
});

test('GET: 500 then success is retried with jittered exponential backoff', async (t) => {
  const server = await startServer((_req, res, _body, i) => {
    res.statusCode = i < 2 ? 500 : 200;
    res.end(i < 2 ? 'boom' : 'ok');
  });
  t.after(() => server.close());
  const { client, sleeps, attempts } = makeClient(t);
  const res = await client.send({ method: 'GET', url: server.url });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'ok');
  assert.equal(res.attempts, 3);
  assert.deepEqual(sleeps, [250, 500]); // random 0.5 × 500·2^(n-1)
  assert.deepEqual(attempts.map((a) => a.retryReason), ['server_error', 'server_error', undefined]);
});

test('GET: 5xx after maxAttempts is returned as a response; backoff is capped by maxDelayMs', async (t) => {
  const server = await startServer((_req, res) => {
    res.statusCode = 502;
    res.end('bad gateway');
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t, { random: () => 0.999, retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 3000 } });
  const res = await client.send({ method: 'GET', url: server.url });
  assert.equal(res.status, 502);
  assert.equal(res.attempts, 5);
  assert.deepEqual(sleeps, [999, 1998, 2997, 2997]);
});

test('503 with Retry-After is retried after that wait', async (t) => {
  const server = await startServer((_req, res, _body, i) => {
    if (i === 0) res.writeHead(503, { 'retry-after': '2' });
    res.end();
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t);
  assert.equal((await client.send({ method: 'DELETE', url: server.url })).status, 200);
  assert.deepEqual(sleeps, [2000]);
});

test('POST: 500 is not retried', async (t) => {
  const server = await startServer((_req, res) => {
    res.statusCode = 500;
    res.end();
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t);
  const res = await client.send({ method: 'POST', url: server.url, body: '{}' });
  assert.equal(res.status, 500);
  assert.equal(res.attempts, 1);
  assert.equal(server.requests.length, 1);
  assert.deepEqual(sleeps, []);
});

test('POST with idempotent: true is retried on 500', async (t) => {
  const server = await startServer((_req, res, _body, i) => {
    res.statusCode = i === 0 ? 500 : 201;
    res.end();
  });
  t.after(() => server.close());
  const { client } = makeClient(t);
  const res = await client.send({ method: 'POST', url: server.url, body: '{}', idempotent: true });
  assert.equal(res.status, 201);
  assert.equal(res.attempts, 2);
  assert.deepEqual(server.requests.map((r) => r.body), ['{}', '{}']);
});

test('GET: connection refused is retried, then thrown as a network error', async (t) => {
  const server = await startServer((_req, res) => res.end());
  const url = `${server.url}/gone`;
  await server.close(); // nothing listens on this port any more
  const { client, sleeps, attempts } = makeClient(t);
  const err = await client.send({ method: 'GET', url }).catch((e: unknown) => e);
  assert.ok(err instanceof HttpCallError);
  assert.equal(err.kind, 'network');
  assert.match(err.reason, /ECONNREFUSED/);
  assert.equal(err.attempts, 4);
  assert.deepEqual(sleeps, [250, 500, 1000]);
  assert.deepEqual(attempts.map((a) => a.retryReason), ['network', 'network', 'network', undefined]);
});

test('POST: connection refused is not retried', async (t) => {
  const server = await startServer((_req, res) => res.end());
  await server.close();
  const { client, sleeps } = makeClient(t);
  await assert.rejects(client.send({ method: 'POST', url: server.url, body: 'x' }), { kind: 'network', attempts: 1 });
  assert.deepEqual(sleeps, []);
});

test('a server that never answers → timeout error naming the headers timeout (retried for GET)', async (t) => {
  const server = await startServer(() => {
    /* never respond */
  });
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t, { headersTimeoutMs: 100, retry: { maxAttempts: 2 } });
  const err = await client.send({ method: 'GET', url: server.url }).catch((e: unknown) => e);
  assert.ok(err instanceof HttpTimeoutError);
  assert.equal(err.kind, 'timeout');
  assert.equal(err.phase, 'headers');
  assert.match(err.reason, /headers timeout after 100 ms/);
  assert.equal(err.attempts, 2);
  assert.equal(sleeps.length, 1);
  assert.equal(server.requests.length, 2);
});

test('a body that stalls → timeout error naming the body timeout', async (t) => {
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial'); // then stall
  });
  t.after(() => server.close());
  const { client } = makeClient(t, { bodyTimeoutMs: 100 });
  await assert.rejects(client.send({ method: 'POST', url: server.url }), (err: unknown) => {
    assert.ok(err instanceof HttpTimeoutError);
    assert.equal(err.phase, 'body');
    assert.equal(err.attempts, 1);
    return true;
  });
});

test('a declared oversized body is refused before reading', async (t) => {
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-length': '5000' });
    res.end('x'.repeat(5000));
  });
  t.after(() => server.close());
  const { client } = makeClient(t, { maxResponseBytes: 1000 });
  await assert.rejects(client.send({ method: 'GET', url: server.url }), (err: unknown) => {
    assert.ok(err instanceof HttpCallError);
    assert.equal(err.kind, 'too_large');
    assert.match(err.reason, /content-length 5000.*exceeds 1000 bytes/);
    return true;
  });
});

test('a streamed body beyond the cap aborts the download instead of buffering it', async (t) => {
  const total = 64 * 1024 * 1024;
  let written = 0;
  let serverClosed!: Promise<unknown>;
  const server = await startServer(async (_req, res) => {
    serverClosed = once(res, 'close');
    res.writeHead(200); // chunked, no content-length
    const chunk = Buffer.alloc(64 * 1024, 'y');
    while (written < total && !res.destroyed) {
      written += chunk.length;
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), serverClosed]);
    }
    res.end();
  });
  t.after(() => server.close());
  const { client } = makeClient(t, { maxResponseBytes: 100_000 });
  await assert.rejects(client.send({ method: 'GET', url: server.url }), { kind: 'too_large' });
  await serverClosed;
  assert.ok(written < total / 4, `server wrote ${written} bytes before the client hung up`);
});

test('redaction: secrets never appear in error URLs, reasons or excerpts', async (t) => {
  const secret = 'SUPERSECRET123';
  const server = await startServer((_req, res) => {
    res.statusCode = 401;
    res.end(`invalid api key ${secret}; header was Bearer ${secret}`);
  });
  t.after(() => server.close());
  const { client, attempts } = makeClient(t);
  const res = await client.send({ method: 'GET', url: `${server.url}/x?api_key=${secret}`, headers: { authorization: `Bearer ${secret}` } });
  assert.equal(res.status, 401);
  // The caller turns the 4xx into an error; the Authorization token was collected as a secret automatically.
  const err = statusError(res, { method: 'GET', secrets: [] });
  assert.ok(err.url.includes('api_key=[REDACTED]'));
  const withSecrets = statusError(res, { secrets: [secret] });
  assert.equal(withSecrets.bodyExcerpt, 'invalid api key [REDACTED]; header was Bearer [REDACTED]');
  assert.ok(!attempts[0]!.url.includes(secret));

  // Network error: the secret sits in the path, declared via `secrets`.
  await server.close();
  const netErr = await client.send({ method: 'POST', url: `${server.url}/tenants/${secret}/x`, secrets: [secret] }).catch((e: unknown) => e);
  assert.ok(netErr instanceof HttpCallError);
  assert.equal(netErr.kind, 'network');
  assert.ok(!netErr.message.includes(secret) && !netErr.url.includes(secret), netErr.message);
  assert.ok(netErr.url.includes('/tenants/[REDACTED]/x'));
});

test('rate limits space calls per key (delays computed, none dropped)', async (t) => {
  const server = await startServer((req, res) => res.end(req.url));
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t, { now: () => 0 });
  const rl = { rateLimitKey: 'ac-1', rateLimits: { requestsPerSecond: 2 } };
  const results = await Promise.all([1, 2, 3].map((i) => client.send({ method: 'GET', url: `${server.url}/${i}`, ...rl })));
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
  assert.deepEqual(sleeps, [500, 1000]);
  assert.deepEqual(server.requests.map((r) => r.url).sort(), ['/1', '/2', '/3']);
  // Another key is not held back by ac-1.
  await client.send({ method: 'GET', url: server.url, rateLimitKey: 'ac-2', rateLimits: { requestsPerSecond: 2 } });
  assert.equal(sleeps.length, 2);
});

test('aborting during a retry wait rejects with the abort reason', async (t) => {
  const server = await startServer((_req, res) => {
    res.statusCode = 429;
    res.end();
  });
  t.after(() => server.close());
  const ac = new AbortController();
  const { client } = makeClient(t, { sleep: async () => ac.abort(new Error('caller gave up')) });
  await assert.rejects(client.send({ method: 'GET', url: server.url, signal: ac.signal }), /caller gave up/);
  assert.equal(server.requests.length, 1);
});

test('invalid request URL → parse error', async (t) => {
  const { client } = makeClient(t);
  await assert.rejects(client.send({ method: 'GET', url: 'not a url' }), { kind: 'parse', reason: 'invalid URL: not a url' });
});

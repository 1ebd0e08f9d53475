import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient } from '../../../src/runtime/http/http-client.js';
import type { HttpClientOptions } from '../../../src/runtime/http/http-client.js';
import { HttpCallError } from '../../../src/runtime/http/errors.js';
import { startServer } from '../../helpers/http-server.js';

function makeClient(t: { after: (fn: () => Promise<void>) => void }, opts: Partial<HttpClientOptions> = {}) {
  const client = new HttpClient({ allowPrivateNetwork: true, sleep: async () => undefined, ...opts });
  t.after(() => client.close());
  return client;
}

/** Answers `/start` with a redirect to `location`, and anything else with 200 echoing the request. */
async function redirectServer(t: { after: (fn: () => Promise<void>) => void }, status: number, location: (base: string) => string | undefined) {
  let base = '';
  const server = await startServer((req, res, body) => {
    if (req.url === '/start') {
      const loc = location(base);
      res.writeHead(status, loc === undefined ? {} : { location: loc });
      return void res.end('moved');
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body, auth: req.headers.authorization ?? null, key: req.headers['x-api-key'] ?? null }));
  });
  base = server.url;
  t.after(() => server.close());
  return server;
}

test('302 is followed for GET; the response carries the final URL and one attempt', async (t) => {
  const server = await redirectServer(t, 302, () => '/final?x=1'); // relative Location
  const res = await makeClient(t).send({ method: 'GET', url: `${server.url}/start` });
  assert.equal(res.status, 200);
  assert.equal(res.url, `${server.url}/final?x=1`);
  assert.equal(res.attempts, 1);
  assert.deepEqual(server.requests.map((r) => r.url), ['/start', '/final?x=1']);
});

test('303 after POST becomes a body-less GET', async (t) => {
  const server = await redirectServer(t, 303, (b) => `${b}/result`);
  const res = await makeClient(t).send({ method: 'POST', url: `${server.url}/start`, headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  const echoed = JSON.parse(res.body.toString());
  assert.equal(echoed.method, 'GET');
  assert.equal(echoed.body, '');
  assert.equal(server.requests[1]!.headers['content-type'], undefined);
});

test('307 and 308 keep the method and the body', async (t) => {
  for (const status of [307, 308]) {
    const server = await redirectServer(t, status, (b) => `${b}/again`);
    const res = await makeClient(t).send({ method: 'POST', url: `${server.url}/start`, body: Buffer.from('payload') });
    assert.deepEqual(JSON.parse(res.body.toString()), { method: 'POST', url: '/again', body: 'payload', auth: null, key: null }, String(status));
  }
});

test('credentials are kept on same-origin redirects and dropped on cross-origin ones', async (t) => {
  const other = await redirectServer(t, 200, () => undefined);
  const headers = { authorization: 'Bearer tok', 'x-api-key': 'k-123', accept: 'application/json' };
  const same = await redirectServer(t, 302, (b) => `${b}/here`);
  const sameRes = JSON.parse((await makeClient(t).send({ method: 'GET', url: `${same.url}/start`, headers, secrets: ['k-123'] })).body.toString());
  assert.equal(sameRes.auth, 'Bearer tok');
  assert.equal(sameRes.key, 'k-123');

  const cross = await redirectServer(t, 302, () => `${other.url}/there`); // another port = another origin
  const res = await makeClient(t).send({ method: 'GET', url: `${cross.url}/start`, headers, secrets: ['k-123'] });
  const crossRes = JSON.parse(res.body.toString());
  assert.equal(res.url, `${other.url}/there`);
  assert.equal(crossRes.auth, null);
  assert.equal(crossRes.key, null, 'a header carrying a declared secret is dropped too');
  assert.equal(other.requests[0]!.headers.accept, 'application/json');
});

test('a redirect loop stops after maxRedirects with a status error', async (t) => {
  const server = await redirectServer(t, 302, () => '/start');
  const err = await makeClient(t, { maxRedirects: 3 }).send({ method: 'GET', url: `${server.url}/start` }).catch((e: unknown) => e);
  assert.ok(err instanceof HttpCallError);
  assert.equal(err.kind, 'status');
  assert.equal(err.status, 302);
  assert.match(err.reason, /too many redirects \(max 3\)/);
  assert.equal(server.requests.length, 4);
});

test('malformed redirects: bad Location → parse error; non-http scheme → blocked; no Location → returned as is', async (t) => {
  const bad = await redirectServer(t, 301, () => 'http://[::1');
  await assert.rejects(makeClient(t).send({ method: 'GET', url: `${bad.url}/start` }), { kind: 'parse', reason: 'invalid redirect Location: http://[::1' });

  const ftp = await redirectServer(t, 302, () => 'file:///etc/passwd');
  await assert.rejects(makeClient(t).send({ method: 'GET', url: `${ftp.url}/start` }), { kind: 'blocked' });

  const none = await redirectServer(t, 302, () => undefined);
  const res = await makeClient(t).send({ method: 'GET', url: `${none.url}/start` });
  assert.equal(res.status, 302);
  assert.equal(res.body.toString(), 'moved');
});

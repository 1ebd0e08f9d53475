import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient } from '../../../src/runtime/http/http-client.js';
import type { HttpClientOptions } from '../../../src/runtime/http/http-client.js';
import { HttpCallError } from '../../../src/runtime/http/errors.js';
import type { Resolver } from '../../../src/runtime/http/ssrf-guard.js';
import { startServer } from '../../helpers/http-server.js';

function makeClient(t: { after: (fn: () => Promise<void>) => void }, opts: Partial<HttpClientOptions> & { allowPrivateNetwork: boolean }) {
  const sleeps: number[] = [];
  const client = new HttpClient({ sleep: async (ms) => void sleeps.push(ms), ...opts });
  t.after(() => client.close());
  return { client, sleeps };
}

async function expectBlocked(client: HttpClient, url: string): Promise<HttpCallError> {
  const err = await client.send({ method: 'GET', url }).catch((e: unknown) => e);
  assert.ok(err instanceof HttpCallError, `${url}: ${String(err)}`);
  assert.equal(err.kind, 'blocked', `${url}: ${err.message}`);
  return err;
}

test('private targets are refused before anything is sent when private networks are not allowed', async (t) => {
  const server = await startServer((_req, res) => res.end('secret internal data'));
  t.after(() => server.close());
  const { client, sleeps } = makeClient(t, { allowPrivateNetwork: false });
  const port = server.port;
  for (const url of [
    `http://127.0.0.1:${port}/`,
    `http://10.0.0.1:${port}/`,
    'http://169.254.169.254/latest/meta-data/',
    `http://[::1]:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://0x7f000001:${port}/`,
    `http://localhost:${port}/`, // a name: refused on its resolved address
  ]) {
    const err = await expectBlocked(client, url);
    assert.equal(err.attempts, 1);
  }
  assert.equal(server.requests.length, 0);
  assert.deepEqual(sleeps, [], 'blocked requests are not retried');
});

test('private targets are reachable when allowPrivateNetwork is on, the metadata address is not', async (t) => {
  const server = await startServer((_req, res) => res.end('hello'));
  t.after(() => server.close());
  const { client } = makeClient(t, { allowPrivateNetwork: true });
  const res = await client.send({ method: 'GET', url: server.url });
  assert.equal(res.body.toString(), 'hello');
  await expectBlocked(client, 'http://169.254.169.254/latest/meta-data/');
  await expectBlocked(client, 'http://[fd00:ec2::254]/');
});

test('a redirect from an allowed host to a blocked literal address is refused', async (t) => {
  const server = await startServer((_req, res) => {
    res.writeHead(302, { location: `http://127.0.0.2:${server.port}/internal` });
    res.end();
  });
  t.after(() => server.close());
  const { client } = makeClient(t, { allowPrivateNetwork: false, isBlocked: (ip) => ip === '127.0.0.2' });
  const err = await expectBlocked(client, `${server.url}/start`);
  assert.match(err.url, /127\.0\.0\.2/);
  assert.equal(server.requests.length, 1, 'the first hop was allowed and sent');
});

test('a redirect to a host name that resolves to a blocked address is refused by the lookup', async (t) => {
  const server = await startServer((req, res) => {
    if (req.url === '/start') {
      res.writeHead(302, { location: `http://evil.example:${server.port}/internal` });
      return void res.end();
    }
    res.end('reached');
  });
  t.after(() => server.close());
  const table: Record<string, string> = { 'public.example': '127.0.0.1', 'evil.example': '127.0.0.2' };
  const resolve: Resolver = async (host) => (table[host] ? [{ address: table[host], family: 4 }] : []);
  const { client } = makeClient(t, { allowPrivateNetwork: false, isBlocked: (ip) => ip === '127.0.0.2', resolve });

  // The lookup path really is used: the allowed name reaches the server.
  const ok = await client.send({ method: 'GET', url: `http://public.example:${server.port}/hello` });
  assert.equal(ok.body.toString(), 'reached');

  const err = await expectBlocked(client, `http://public.example:${server.port}/start`);
  assert.match(err.reason, /evil\.example.*127\.0\.0\.2/);
  assert.deepEqual(server.requests.map((r) => r.url), ['/hello', '/start']);
});

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { compileRelease } from '../../src/runtime/compile.js';
import { runMethod } from '../../src/runtime/executor.js';
import type { MethodContext } from '../../src/runtime/executor.js';
import { OAuth2TokenProvider, TokenCache } from '../../src/runtime/auth/token-provider.js';
import type { TokenProvider } from '../../src/runtime/auth/token-provider.js';
import { MethodCallError } from '../../src/runtime/errors.js';
import type { Authentication, ConnectorDefinition } from '../../src/definition/schema.js';
import { credentialApi, oauthApi, serve, testClient } from '../helpers/api-servers.js';

function release(baseUrl: string, auth: Authentication, extra: Partial<ConnectorDefinition> = {}) {
  return compileRelease(
    {},
    { baseUrl, authentications: [auth], methods: [{ id: 'me', name: 'Get Me', http: { method: 'GET', path: '/api/me' } }], ...extra },
  );
}

const ctx = (t: TestContext, values: Record<string, string>, more: Partial<MethodContext> = {}): MethodContext => ({
  auth: { values },
  http: testClient(t),
  ...more,
});

/** Every logged request and response, as one string, to look for leaked secrets. */
const logsOf = (run: { requests: unknown[] }) => JSON.stringify(run.requests);

test('apiKey in a header with a value template; the key never appears in logs', async (t) => {
  const server = await serve(t, credentialApi((req) => req.headers['x-token'] === 'Token sk_live_123456'));
  const compiled = release(server.url, { id: 'key', name: 'Key', type: 'apiKey', in: 'header', header: 'X-Token', value: 'Token {{ApiKey}}' });
  const run = await runMethod(compiled, 'me', ctx(t, { ApiKey: 'sk_live_123456' }));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(run.records, [{ id: 'me', ok: true }]);
  assert.equal(run.requests[0]!.request.headers['X-Token'], '[REDACTED]');
  assert.ok(!logsOf(run).includes('sk_live_123456'));
});

test('apiKey in the query string is masked in the logged URL', async (t) => {
  const server = await serve(t, credentialApi((req) => new URL(req.url!, 'http://x').searchParams.get('key') === 'qk-98765'));
  const compiled = release(server.url, { id: 'key', name: 'Key', type: 'apiKey', in: 'query', query: 'key' });
  const run = await runMethod(compiled, 'me', ctx(t, { ApiKey: 'qk-98765' }));
  assert.equal(run.ok, true, String(run.error));
  assert.match(run.requests[0]!.request.url, /key=\[REDACTED\]/);
  assert.ok(!logsOf(run).includes('qk-98765'));
});

test('basic auth', async (t) => {
  const expected = `Basic ${Buffer.from('ann:s3cret-pw').toString('base64')}`;
  const server = await serve(t, credentialApi((req) => req.headers.authorization === expected));
  const compiled = release(server.url, { id: 'basic', name: 'Basic', type: 'basic' });
  const ok = await runMethod(compiled, 'me', ctx(t, { Username: 'ann', Password: 's3cret-pw' }));
  assert.equal(ok.ok, true, String(ok.error));
  assert.equal(ok.requests[0]!.request.headers.Authorization, '[REDACTED]');
  assert.ok(!logsOf(ok).includes('s3cret-pw') && !logsOf(ok).includes(expected.slice(6)));

  const bad = await runMethod(compiled, 'me', ctx(t, { Username: 'ann', Password: 'wrong-pass' }));
  assert.equal(bad.ok, false);
  assert.ok(bad.error instanceof MethodCallError);
  assert.equal(bad.error.status, 401);
  assert.match(bad.error.bodyExcerpt ?? '', /invalid credentials/);
});

test('authFields in header, query and body (GET moves body fields to the query)', async (t) => {
  const server = await serve(
    t,
    credentialApi((req, body) => {
      const q = new URL(req.url!, 'http://x').searchParams;
      const fromBody = body ? (JSON.parse(body) as { auth?: { token?: string } }).auth?.token : q.get('auth.token');
      return req.headers['x-account'] === 'acct-42' && q.get('tenant') === 'tenant-7' && fromBody === 'body-secret-1';
    }),
  );
  const auth: Authentication = {
    id: 'fields',
    name: 'Fields',
    type: 'authFields',
    fields: [
      { key: 'Account', target: 'header', targetName: 'X-Account', sensitive: false },
      { key: 'Tenant', target: 'query', targetName: 'tenant', sensitive: false },
      { key: 'Token', target: 'body', targetName: 'auth.token' },
    ],
  };
  const values = { Account: 'acct-42', Tenant: 'tenant-7', Token: 'body-secret-1' };
  const definition: Partial<ConnectorDefinition> = {
    methods: [
      { id: 'me', name: 'Get Me', http: { method: 'GET', path: '/api/me' } },
      { id: 'post', name: 'Post Me', http: { method: 'POST', path: '/api/me' } },
    ],
  };
  const compiled = release(server.url, auth, definition);
  for (const method of ['me', 'post']) {
    const run = await runMethod(compiled, method, ctx(t, values));
    assert.equal(run.ok, true, `${method}: ${String(run.error)}`);
    assert.equal(run.requests[0]!.request.headers['X-Account'], 'acct-42');
    assert.ok(!logsOf(run).includes('body-secret-1'));
  }
  assert.deepEqual(JSON.parse(server.requests[1]!.body), { auth: { token: 'body-secret-1' } });

  const missing = await runMethod(compiled, 'me', ctx(t, { Account: 'a', Tenant: 't' }));
  assert.equal(missing.ok, false);
  assert.match(String(missing.error), /auth value "Token" is missing/);
  assert.equal(server.requests.length, 2);
});

const oauthAuth = (tokenUrl: string, more: Partial<Extract<Authentication, { type: 'oauth2' }>> = {}): Authentication => ({
  id: 'oauth',
  name: 'OAuth',
  type: 'oauth2',
  grant: 'clientCredentials',
  tokenUrl,
  scopes: ['read', 'write'],
  ...more,
});

test('oauth2 client credentials: token fetched once and cached across runs until expiry', async (t) => {
  const server = await serve(t, oauthApi({ clientId: 'cid-1', clientSecret: 'csecret-XYZ' }));
  const compiled = release(server.url, oauthAuth(`${server.url}/oauth/token`));
  // Client credentials come from partner properties here.
  const properties = { ClientId: 'cid-1', ClientSecret: 'csecret-XYZ' };
  const first = await runMethod(compiled, 'me', ctx(t, {}, { properties }));
  const second = await runMethod(compiled, 'me', ctx(t, {}, { properties }));
  assert.equal(first.ok && second.ok, true, String(first.error ?? second.error));
  assert.equal(server.tokenRequests.length, 1);
  assert.deepEqual(server.tokenRequests[0], { grant_type: 'client_credentials', scope: 'read write', client_id: 'cid-1', client_secret: 'csecret-XYZ' });
  assert.equal(first.records[0]!.token, second.records[0]!.token);
  // The token request is logged, redacted.
  assert.equal(first.requests[0]!.purpose, 'token');
  assert.deepEqual(second.requests.map((r) => r.purpose), ['method']);
  for (const run of [first, second]) {
    const logs = logsOf(run);
    assert.ok(!logs.includes('csecret-XYZ'), 'client secret leaked');
    assert.ok(!/at-1-x{12}/.test(logs), 'access token leaked');
    assert.ok(!/rt-1-y{12}/.test(logs), 'refresh token leaked');
  }
});

test('oauth2: a 401 refreshes the token once (refresh_token) and retries once', async (t) => {
  const server = await serve(t, oauthApi({ clientId: 'cid-1', clientSecret: 'csecret-XYZ' }));
  const compiled = release(server.url, oauthAuth(`${server.url}/oauth/token`, { clientAuth: 'basic' }));
  const properties = { ClientId: 'cid-1', ClientSecret: 'csecret-XYZ' };
  assert.equal((await runMethod(compiled, 'me', ctx(t, {}, { properties }))).ok, true);
  server.revokeAll();
  const run = await runMethod(compiled, 'me', ctx(t, {}, { properties }));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(server.tokenRequests.map((r) => r.grant_type), ['client_credentials', 'refresh_token']);
  assert.deepEqual(run.requests.map((r) => [r.purpose, r.response?.status]), [['method', 401], ['token', 200], ['method', 200]]);
  assert.match(String(run.records[0]!.token), /^at-2-/);
});

test('oauth2: a second 401 after the refresh fails the call (no loop)', async (t) => {
  const tokens = await serve(t, oauthApi({ clientId: 'c', clientSecret: 'client-secret-1' }));
  const api = await serve(t, credentialApi(() => false));
  const compiled = release(api.url, oauthAuth(`${tokens.url}/oauth/token`));
  const run = await runMethod(compiled, 'me', ctx(t, { ClientId: 'c', ClientSecret: 'client-secret-1' }));
  assert.equal(run.ok, false);
  assert.ok(run.error instanceof MethodCallError && run.error.status === 401);
  assert.equal(api.requests.length, 2);
  assert.equal(tokens.tokenRequests.length, 2);
});

test('oauth2 password grant; bad client credentials are a typed auth error', async (t) => {
  const server = await serve(t, oauthApi({ clientId: 'cid', clientSecret: 'csec-123456', username: 'bob', password: 'pw-654321' }));
  const compiled = release(server.url, oauthAuth(`${server.url}/oauth/token`, { grant: 'password', scopes: undefined }));
  const run = await runMethod(compiled, 'me', ctx(t, { Username: 'bob', Password: 'pw-654321', ClientId: 'cid', ClientSecret: 'csec-123456' }));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(server.tokenRequests[0], { grant_type: 'password', username: 'bob', password: 'pw-654321', client_id: 'cid', client_secret: 'csec-123456' });
  assert.ok(!logsOf(run).includes('pw-654321'));

  const bad = await runMethod(compiled, 'me', ctx(t, { Username: 'bob', Password: 'pw-654321', ClientId: 'cid', ClientSecret: 'wrong-secret' }));
  assert.equal(bad.ok, false);
  assert.equal((bad.error as { kind?: string }).kind, 'auth');
  assert.match(String(bad.error), /invalid_client/);
  assert.ok(!String(bad.error).includes('wrong-secret'));
});

test('oauth2 authorization code: the stored access token is used; on 401 the refresh token renews it', async (t) => {
  const server = await serve(t, oauthApi({ clientId: 'cid', clientSecret: 'csec-abcdef' }));
  // Obtain a real token pair first (as the account layer would have after the OAuth dance).
  const issued = JSON.parse(
    (await testClient(t).send({ method: 'POST', url: `${server.url}/oauth/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=cid&client_secret=csec-abcdef' })).body.toString(),
  ) as { access_token: string; refresh_token: string };
  const compiled = release(server.url, oauthAuth(`${server.url}/oauth/token`, { grant: 'authorizationCode', authorizeUrl: `${server.url}/authorize` }));
  const values = { AccessToken: issued.access_token, RefreshToken: issued.refresh_token, ClientId: 'cid', ClientSecret: 'csec-abcdef' };
  const first = await runMethod(compiled, 'me', ctx(t, values));
  assert.equal(first.ok, true, String(first.error));
  assert.equal(server.tokenRequests.length, 1); // only ours
  server.revokeAll();
  const second = await runMethod(compiled, 'me', ctx(t, values));
  assert.equal(second.ok, true, String(second.error));
  assert.deepEqual(server.tokenRequests.map((r) => r.grant_type), ['client_credentials', 'refresh_token']);
});

test('a custom TokenProvider is asked again with force=true after a 401', async (t) => {
  const server = await serve(t, credentialApi((req) => req.headers.authorization === 'Bearer fresh-token'));
  const calls: boolean[] = [];
  const provider: TokenProvider = {
    getToken: async (force = false) => {
      calls.push(force);
      return force ? 'fresh-token' : 'stale-token';
    },
  };
  const compiled = release(server.url, oauthAuth('https://unused.example/token', { grant: 'authorizationCode' }));
  const run = await runMethod(compiled, 'me', ctx(t, {}, { tokenProvider: provider }));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(calls, [false, true]);
  assert.ok(!logsOf(run).includes('stale-token') && !logsOf(run).includes('fresh-token'));
});

test('token cache expiry: a token is renewed once it expires', async (t) => {
  const server = await serve(t, oauthApi({ clientId: 'cid', clientSecret: 'csec-zzzzzz', expiresIn: 120 }));
  let now = 1_000_000;
  const provider = new OAuth2TokenProvider(
    { grant: 'clientCredentials', tokenUrl: `${server.url}/oauth/token`, clientId: 'cid', clientSecret: 'csec-zzzzzz' },
    { http: testClient(t), cache: new TokenCache(), cacheKey: 'k', now: () => now },
  );
  const a = await provider.getToken();
  now += 60_000;
  assert.equal(await provider.getToken(), a);
  now += 60_000; // past expiry (120 s minus a safety margin)
  const b = await provider.getToken();
  assert.notEqual(b, a);
  assert.deepEqual(server.tokenRequests.map((r) => r.grant_type), ['client_credentials', 'refresh_token']);
  // Concurrent callers share one refresh.
  const [c, d] = await Promise.all([provider.getToken(true), provider.getToken(true)]);
  assert.equal(c, d);
  assert.equal(server.tokenRequests.length, 3);
});

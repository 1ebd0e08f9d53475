// Real HTTP servers on 127.0.0.1 that page, authenticate and fail like well-known public APIs,
// for connector runtime tests. Every server records what it received (`requests`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startServer } from './http-server.js';
import type { TestServer } from './http-server.js';
import { HttpClient } from '../../src/runtime/http/http-client.js';
import type { HttpClientOptions } from '../../src/runtime/http/http-client.js';

export type { TestServer } from './http-server.js';

/** An HttpClient for loopback test servers (private network allowed, no real sleeps), closed after the test. */
export function testClient(t: { after: (fn: () => Promise<void>) => void }, opts: Partial<HttpClientOptions> = {}): HttpClient {
  const client = new HttpClient({ allowPrivateNetwork: true, sleep: async () => {}, retry: { maxAttempts: 1 }, ...opts });
  t.after(() => client.close());
  return client;
}

/** Starts a server and closes it after the test. */
export async function serve<S extends TestServer>(t: { after: (fn: () => Promise<void>) => void }, server: Promise<S>): Promise<S> {
  const s = await server;
  t.after(() => s.close());
  return s;
}

export interface ApiRecord {
  id: string;
  n: number;
  email: string;
}

export const makeRecords = (count: number, prefix = 'r'): ApiRecord[] =>
  Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i + 1}`, n: i + 1, email: `user${i + 1}@example.com` }));

const json = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const query = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').searchParams;
const int = (v: string | null, fallback: number) => (v === null || v === '' ? fallback : Number(v));

/** `GET /contacts?page=&per_page=` → `{data}`; the last page is short. `cap` limits per_page (server-side). */
export function pageNumberApi(total: number, opts: { cap?: number } = {}): Promise<TestServer> {
  const all = makeRecords(total);
  return startServer((req, res) => {
    const q = query(req);
    const size = Math.min(int(q.get('per_page'), 25), opts.cap ?? Infinity);
    const page = int(q.get('page'), 1);
    json(res, { data: all.slice((page - 1) * size, page * size), page });
  });
}

/** `GET /items?offset=&limit=` → `{items, total}`. `cap` limits the page size (server-side). */
export function offsetApi(total: number, opts: { cap?: number } = {}): Promise<TestServer> {
  const all = makeRecords(total);
  return startServer((req, res) => {
    const q = query(req);
    const limit = Math.min(int(q.get('limit'), 20), opts.cap ?? Infinity);
    const offset = int(q.get('offset'), 0);
    json(res, { items: all.slice(offset, offset + limit), total });
  });
}

/** Stripe-like: `GET /v1/customers?limit=&starting_after=` → `{object:'list', data, has_more}`. */
export function stripeLikeApi(total: number): Promise<TestServer> {
  const all = makeRecords(total, 'cus_');
  return startServer((req, res) => {
    const q = query(req);
    const limit = int(q.get('limit'), 10);
    const after = q.get('starting_after');
    const start = after ? all.findIndex((r) => r.id === after) + 1 : 0;
    const data = all.slice(start, start + limit);
    json(res, { object: 'list', data, has_more: start + limit < all.length, url: '/v1/customers' });
  });
}

/** Facebook-like: `GET /posts?limit=&after=` → `{data, meta: {cursors: {after}}}`; no `after` on the last page. */
export function metaCursorApi(total: number): Promise<TestServer> {
  const all = makeRecords(total);
  const cursorOf = (i: number) => Buffer.from(`pos:${i}`).toString('base64url');
  return startServer((req, res) => {
    const q = query(req);
    const limit = int(q.get('limit'), 10);
    const after = q.get('after');
    const start = after ? Number(Buffer.from(after, 'base64url').toString().slice(4)) : 0;
    const end = Math.min(all.length, start + limit);
    json(res, { data: all.slice(start, end), meta: { cursors: end < all.length ? { after: cursorOf(end), before: cursorOf(start) } : { before: cursorOf(start) } } });
  });
}

/** Salesforce-like: `{totalSize, done, records, nextRecordsUrl}` with a relative or absolute next URL. */
export function nextUrlApi(total: number, pageSize: number, mode: 'relative' | 'absolute'): Promise<TestServer> {
  const all = makeRecords(total);
  let base = '';
  const server = startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const locator = url.pathname.match(/^\/query\/next-(\d+)$/);
    const start = locator ? Number(locator[1]) : 0;
    const end = Math.min(all.length, start + pageSize);
    const next = end < all.length ? `${mode === 'absolute' ? base : ''}/query/next-${end}` : undefined;
    json(res, { totalSize: all.length, done: !next, records: all.slice(start, end), ...(next ? { nextRecordsUrl: next } : {}) });
  });
  return server.then((s) => {
    base = s.url;
    return s;
  });
}

/** GitHub-like: `GET /repos?per_page=&page=` → a top-level array and `Link: <…>; rel="next", <…>; rel="last"`. */
export function linkHeaderApi(total: number): Promise<TestServer> {
  const all = makeRecords(total);
  let base = '';
  const server = startServer((req, res) => {
    const q = query(req);
    const size = int(q.get('per_page'), 30);
    const page = int(q.get('page'), 1);
    const last = Math.max(1, Math.ceil(all.length / size));
    const link = (p: number, rel: string) => `<${base}/repos?per_page=${size}&page=${p}>; rel="${rel}"`;
    const links = [page < last ? link(page + 1, 'next') : undefined, link(last, 'last'), page > 1 ? link(page - 1, 'prev') : undefined].filter(Boolean);
    json(res, all.slice((page - 1) * size, page * size), 200, { link: links.join(', ') });
  });
  return server.then((s) => {
    base = s.url;
    return s;
  });
}

/** Two cursors that must both be echoed: `?after_id=&after_ts=` → `{items, paging: {after_id, after_ts}}`. */
export function twoCursorApi(total: number, pageSize: number): Promise<TestServer> {
  const all = makeRecords(total);
  return startServer((req, res) => {
    const q = query(req);
    const afterId = q.get('after_id');
    const afterTs = q.get('after_ts');
    if ((afterId === null) !== (afterTs === null)) return json(res, { error: 'after_id and after_ts go together' }, 400);
    const start = afterId ? all.findIndex((r) => r.id === afterId) + 1 : 0;
    if (afterTs && afterTs !== `ts-${start}`) return json(res, { error: 'after_ts does not match after_id' }, 400);
    const end = Math.min(all.length, start + pageSize);
    const paging = end < all.length ? { after_id: all[end - 1]!.id, after_ts: `ts-${end}` } : {};
    json(res, { items: all.slice(start, end), paging });
  });
}

/** Search API with the cursor in a POST body: `{query, limit, cursor?}` → `{results, next_cursor}`. */
export function postCursorApi(total: number): Promise<TestServer> {
  const all = makeRecords(total);
  return startServer((req, res, body) => {
    if (req.method !== 'POST') return json(res, { error: 'POST only' }, 405);
    const { limit = 10, cursor } = JSON.parse(body || '{}') as { limit?: number; cursor?: string };
    if (typeof limit !== 'number') return json(res, { error: 'limit must be a number' }, 400);
    const start = cursor ? Number(cursor.slice(2)) : 0;
    const end = Math.min(all.length, start + limit);
    json(res, { results: all.slice(start, end), next_cursor: end < all.length ? `c-${end}` : null });
  });
}

/** A broken cursor API: always answers the same full page and the same cursor. */
export function repeatingCursorApi(): Promise<TestServer> {
  const page = makeRecords(5);
  return startServer((_req, res) => json(res, { data: page, next: 'same-cursor' }));
}

/** Never ends: every page is full (for the maxPages guard). */
export function endlessApi(pageSize: number): Promise<TestServer> {
  return startServer((req, res) => {
    const page = int(query(req).get('page'), 1);
    json(res, { data: makeRecords(pageSize, `p${page}-`) });
  });
}

/** Answers this exact text as JSON (malformed on purpose). */
export function rawJsonApi(text: string, status = 200): Promise<TestServer> {
  return startServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  });
}

/** An XML API: `GET /customers` → `<response><customers><customer id="…">…</customer>…</customers></response>`. */
export function xmlApi(records: ApiRecord[]): Promise<TestServer> {
  return startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8' });
    const items = records.map((r) => `<customer id="${r.id}"><n>${r.n}</n><email>${r.email}</email></customer>`).join('');
    res.end(`<?xml version="1.0" encoding="UTF-8"?><response><count>${records.length}</count><customers>${items}</customers></response>`);
  });
}

/** Answers 201 `{received: {contentType, body}}` for anything: form/multipart/xml/json echo. */
export function echoApi(): Promise<TestServer> {
  return startServer((req, res, body) => json(res, { id: 'created-1', received: { method: req.method, url: req.url, contentType: req.headers['content-type'] ?? null, body } }, 201));
}

/** Answers every request with this status and JSON body. */
export function statusApi(status: number, body: unknown): Promise<TestServer> {
  return startServer((_req, res) => json(res, body, status));
}

/** Checks credentials like most APIs: 401 `{error}` unless `check(req)` passes; then `{id:'me'}`. */
export function credentialApi(check: (req: IncomingMessage, body: string) => boolean): Promise<TestServer> {
  return startServer((req, res, body) => (check(req, body) ? json(res, { id: 'me', ok: true }) : json(res, { error: 'invalid credentials' }, 401)));
}

export interface OAuthApi extends TestServer {
  /** Token requests received (parsed form bodies). */
  tokenRequests: Array<Record<string, string>>;
  /** Invalidate every issued access token (the resource then answers 401). */
  revokeAll(): void;
}

/**
 * An OAuth2 server: `POST /oauth/token` (client_credentials, password, refresh_token; client auth in
 * the body or Basic) and `GET /api/me` that needs a live bearer token.
 */
export function oauthApi(opts: { clientId: string; clientSecret: string; expiresIn?: number; username?: string; password?: string }): Promise<OAuthApi> {
  const tokenRequests: Array<Record<string, string>> = [];
  const live = new Set<string>();
  const refreshTokens = new Set<string>();
  let issued = 0;
  const issue = (res: ServerResponse) => {
    issued++;
    const access = `at-${issued}-${'x'.repeat(12)}`;
    const refresh = `rt-${issued}-${'y'.repeat(12)}`;
    live.add(access);
    refreshTokens.add(refresh);
    json(res, { access_token: access, token_type: 'Bearer', expires_in: opts.expiresIn ?? 3600, refresh_token: refresh });
  };
  return startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/oauth/token') {
      const form = Object.fromEntries(new URLSearchParams(body));
      tokenRequests.push(form);
      let id = form.client_id;
      let secret = form.client_secret;
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      if (basic) [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent) as [string, string];
      if (id !== opts.clientId || secret !== opts.clientSecret) return json(res, { error: 'invalid_client', error_description: 'bad client credentials' }, 401);
      if (form.grant_type === 'client_credentials') return issue(res);
      if (form.grant_type === 'password') {
        return form.username === opts.username && form.password === opts.password ? issue(res) : json(res, { error: 'invalid_grant' }, 400);
      }
      if (form.grant_type === 'refresh_token' && refreshTokens.has(form.refresh_token ?? '')) {
        refreshTokens.delete(form.refresh_token!);
        return issue(res);
      }
      return json(res, { error: 'unsupported_grant_type' }, 400);
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !live.has(token)) return json(res, { error: 'invalid_token' }, 401, { 'www-authenticate': 'Bearer error="invalid_token"' });
    json(res, { id: 'me', token });
  }).then((s) => Object.assign(s, { tokenRequests, revokeAll: () => live.clear() }));
}

/** Bulk create: `POST /bulk {records:[…]}` → `{results:[{id}]}`; 422 when a record has `fail: true`. */
export function bulkApi(): Promise<TestServer> {
  return startServer((_req, res, body) => {
    const { records } = JSON.parse(body) as { records: Array<{ name: string; fail?: boolean }> };
    if (records.some((r) => r.fail)) return json(res, { error: 'validation failed', invalid: records.filter((r) => r.fail).map((r) => r.name) }, 422);
    json(res, { results: records.map((r) => ({ id: `id-${r.name}` })) });
  });
}

import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { compileRelease } from '../../src/runtime/compile.js';
import { executeMethod, runMethod } from '../../src/runtime/executor.js';
import type { MethodContext } from '../../src/runtime/executor.js';
import type { ConnectorDefinition, Method, ReleaseSettings } from '../../src/definition/schema.js';
import {
  endlessApi,
  linkHeaderApi,
  makeRecords,
  metaCursorApi,
  nextUrlApi,
  offsetApi,
  pageNumberApi,
  postCursorApi,
  repeatingCursorApi,
  serve,
  statusApi,
  stripeLikeApi,
  testClient,
  twoCursorApi,
} from '../helpers/api-servers.js';
import type { TestServer } from '../helpers/api-servers.js';

const settings: ReleaseSettings = { inboundPaging: true, inboundPageSize: 10 };
const fields = [
  { location: 'id', field: 'Id', type: 'text' as const },
  { location: 'n', field: 'N', type: 'integer' as const },
];

function release(baseUrl: string, method: Partial<Method>, extra: Partial<ConnectorDefinition> = {}) {
  const definition: ConnectorDefinition = {
    baseUrl,
    methods: [{ id: 'list', name: 'List', http: { method: 'GET', path: '/contacts' }, response: { fields }, ...method }],
    ...extra,
  };
  return compileRelease(settings, definition);
}

const ctx = (t: TestContext, more: Partial<MethodContext> = {}): MethodContext => ({ auth: { values: {} }, http: testClient(t), ...more });
const queries = (server: TestServer, name: string) => server.requests.map((r) => new URL(r.url, 'http://x').searchParams.get(name));
const ids = (records: Array<Record<string, unknown>>) => records.map((r) => r.Id);
const expectedIds = (count: number, prefix = 'r') => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);

const pageParams = [
  { name: 'page', target: 'query' as const, value: '{{PAGE_NUMBER}}', hidden: true },
  { name: 'per_page', target: 'query' as const, value: '{{PAGE_SIZE}}', hidden: true },
];

test('page/per_page: reads until the short last page', async (t) => {
  const server = await serve(t, pageNumberApi(25));
  const run = await runMethod(release(server.url, { parameters: pageParams, records: 'data' }), 'list', ctx(t));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(ids(run.records), expectedIds(25));
  assert.deepEqual(queries(server, 'page'), ['1', '2', '3']);
  assert.deepEqual(queries(server, 'per_page'), ['10', '10', '10']);
  assert.equal(run.records[24]!.N, 25);
  assert.deepEqual(run.warnings, []);
});

test('page/per_page: a full last page is confirmed by an empty one', async (t) => {
  const server = await serve(t, pageNumberApi(30));
  const run = await runMethod(release(server.url, { parameters: pageParams, records: 'data' }), 'list', ctx(t));
  assert.equal(run.records.length, 30);
  assert.deepEqual(queries(server, 'page'), ['1', '2', '3', '4']);
});

test('CYCLR_PAGE_* spellings work too', async (t) => {
  const server = await serve(t, pageNumberApi(12));
  const params = [
    { name: 'page', target: 'query' as const, value: '{{CYCLR_PAGE_NUMBER}}' },
    { name: 'per_page', target: 'query' as const, value: '{{CYCLR_PAGE_SIZE}}' },
  ];
  const run = await runMethod(release(server.url, { parameters: params, records: 'data' }), 'list', ctx(t));
  assert.equal(run.records.length, 12);
  assert.deepEqual(queries(server, 'page'), ['1', '2']);
});

test('offset/limit with a total count path stops without an extra request', async (t) => {
  const server = await serve(t, offsetApi(40));
  const params = [
    { name: 'offset', target: 'query' as const, value: '{{PAGE_OFFSET}}' },
    { name: 'limit', target: 'query' as const, value: '{{PAGE_SIZE}}' },
  ];
  const compiled = release(server.url, { parameters: params, records: 'items', paging: { pageSize: 20, totalCountPath: 'total' } });
  const run = await runMethod(compiled, 'list', ctx(t));
  assert.deepEqual(ids(run.records), expectedIds(40));
  assert.deepEqual(queries(server, 'offset'), ['0', '20']);
  assert.deepEqual(queries(server, 'limit'), ['20', '20']);
});

test('offset/limit without a total stops on the short page', async (t) => {
  const server = await serve(t, offsetApi(45));
  const params = [
    { name: 'offset', target: 'query' as const, value: '{{PAGE_OFFSET}}' },
    { name: 'limit', target: 'query' as const, value: '{{PAGE_SIZE}}' },
  ];
  const run = await runMethod(release(server.url, { parameters: params, records: 'items', paging: { pageSize: 20 } }), 'list', ctx(t));
  assert.deepEqual(ids(run.records), expectedIds(45));
  assert.deepEqual(queries(server, 'offset'), ['0', '20', '40']);
});

test('Stripe-like: has_more + starting_after the last id', async (t) => {
  const server = await serve(t, stripeLikeApi(23));
  const params = [
    { name: 'limit', target: 'query' as const, value: '{{PAGE_SIZE}}' },
    { name: 'starting_after', target: 'query' as const, value: '{{PAGE_TOKEN}}' },
    { name: 'NextCursor', target: 'responseField' as const, targetName: 'data[-1].id', value: '{{PAGE_TOKEN}}' },
  ];
  const method = { parameters: params, records: 'data', paging: { hasMorePath: 'has_more' } };
  const run = await runMethod(release(server.url, method), 'list', ctx(t));
  assert.deepEqual(ids(run.records), expectedIds(23, 'cus_'));
  assert.deepEqual(queries(server, 'starting_after'), [null, 'cus_10', 'cus_20']);

  // Without has_more, the cursor alone ends it: the empty page has no last id.
  const server2 = await serve(t, stripeLikeApi(23));
  const run2 = await runMethod(release(server2.url, { parameters: params, records: 'data' }), 'list', ctx(t));
  assert.equal(run2.records.length, 23);
  assert.deepEqual(queries(server2, 'starting_after'), [null, 'cus_10', 'cus_20', 'cus_23']);
  assert.deepEqual(run2.warnings, []);
});

test('cursor under meta (meta.cursors.after)', async (t) => {
  const server = await serve(t, metaCursorApi(25));
  const params = [
    { name: 'limit', target: 'query' as const, value: '{{PAGE_SIZE}}' },
    { name: 'after', target: 'query' as const, value: '{{PAGE_TOKEN}}' },
    { name: 'AfterCursor', target: 'responseField' as const, targetName: 'meta.cursors.after', value: '{{PAGE_TOKEN}}' },
  ];
  const run = await runMethod(release(server.url, { parameters: params, records: 'data' }), 'list', ctx(t));
  assert.deepEqual(ids(run.records), expectedIds(25));
  assert.equal(server.requests.length, 3);
  assert.equal(queries(server, 'after')[0], null);
  assert.ok(queries(server, 'after').slice(1).every((a) => a && a.length > 0));
});

for (const mode of ['relative', 'absolute'] as const) {
  test(`next URL in the body (${mode})`, async (t) => {
    const server = await serve(t, nextUrlApi(25, 10, mode));
    const params = [{ name: 'Next', target: 'responseField' as const, targetName: 'nextRecordsUrl', value: '{{PAGE_NEXT_URL}}' }];
    const compiled = release(server.url, { http: { method: 'GET', path: '/query?q=SELECT+Id' }, parameters: params, records: 'records' });
    const run = await runMethod(compiled, 'list', ctx(t));
    assert.deepEqual(ids(run.records), expectedIds(25));
    assert.deepEqual(server.requests.map((r) => r.url), ['/query?q=SELECT+Id', '/query/next-10', '/query/next-20']);
  });
}

test('Link rel="next" header (GitHub-like), top-level array records', async (t) => {
  const server = await serve(t, linkHeaderApi(25));
  const params = [
    { name: 'per_page', target: 'query' as const, value: '{{PAGE_SIZE}}' },
    { name: 'Next', target: 'responseField' as const, targetName: 'header:Link', value: '{{PAGE_NEXT_URL}}' },
  ];
  const run = await runMethod(release(server.url, { http: { method: 'GET', path: '/repos' }, parameters: params, records: '' }), 'list', ctx(t));
  assert.deepEqual(ids(run.records), expectedIds(25));
  assert.deepEqual(server.requests.map((r) => r.url), ['/repos?per_page=10', '/repos?per_page=10&page=2', '/repos?per_page=10&page=3']);
});

test('a next URL to another origin is not followed (credentials stay home)', async (t) => {
  const server = await serve(t, nextUrlApi(25, 10, 'absolute'));
  const params = [{ name: 'Next', target: 'responseField' as const, targetName: 'nextRecordsUrl', value: '{{PAGE_NEXT_URL}}' }];
  // Same server, reached through a different origin (localhost vs 127.0.0.1).
  const compiled = release(server.url.replace('127.0.0.1', 'localhost'), { http: { method: 'GET', path: '/query' }, parameters: params, records: 'records' });
  const run = await runMethod(compiled, 'list', ctx(t));
  assert.equal(run.records.length, 10);
  assert.equal(server.requests.length, 1);
  assert.equal(run.warnings[0]?.code, 'PAGING_NEXT_URL_REJECTED');
});

test('two cursors at once (PAGE_TOKEN_ID + PAGE_TOKEN_TS)', async (t) => {
  const server = await serve(t, twoCursorApi(25, 10));
  const params = [
    { name: 'after_id', target: 'query' as const, value: '{{PAGE_TOKEN_ID}}' },
    { name: 'after_ts', target: 'query' as const, value: '{{PAGE_TOKEN_TS}}' },
    { name: 'NextId', target: 'responseField' as const, targetName: 'paging.after_id', value: '{{PAGE_TOKEN_ID}}' },
    { name: 'NextTs', target: 'responseField' as const, targetName: 'paging.after_ts', value: '{{PAGE_TOKEN_TS}}' },
  ];
  const run = await runMethod(release(server.url, { parameters: params, records: 'items' }), 'list', ctx(t));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(ids(run.records), expectedIds(25));
  assert.deepEqual(server.requests.map((r) => r.url), ['/contacts', '/contacts?after_id=r10&after_ts=ts-10', '/contacts?after_id=r20&after_ts=ts-20']);
});

test('cursor sent in a POST body', async (t) => {
  const server = await serve(t, postCursorApi(25));
  const params = [
    { name: 'limit', target: 'body' as const, value: '{{PAGE_SIZE}}' },
    { name: 'cursor', target: 'body' as const, value: '{{PAGE_TOKEN}}' },
    { name: 'Next', target: 'responseField' as const, targetName: 'next_cursor', value: '{{PAGE_TOKEN}}' },
  ];
  const compiled = release(server.url, {
    http: { method: 'POST', path: '/search' },
    parameters: params,
    request: { format: 'json', fields: [{ location: 'query', field: 'Query', type: 'text' }] },
    records: 'results',
  });
  const run = await runMethod(compiled, 'list', ctx(t, { fields: { Query: 'name:x' } }));
  assert.deepEqual(ids(run.records), expectedIds(25));
  assert.deepEqual(
    server.requests.map((r) => JSON.parse(r.body)),
    [
      { query: 'name:x', limit: 10 },
      { query: 'name:x', limit: 10, cursor: 'c-10' },
      { query: 'name:x', limit: 10, cursor: 'c-20' },
    ],
  );
});

test('an empty first page ends paging at once', async (t) => {
  const server = await serve(t, pageNumberApi(0));
  const run = await runMethod(release(server.url, { parameters: pageParams, records: 'data' }), 'list', ctx(t));
  assert.equal(run.ok, true);
  assert.deepEqual(run.records, []);
  assert.equal(server.requests.length, 1);
  assert.deepEqual(run.warnings, []);
});

test('a server capping the page size loses no record (page number)', async (t) => {
  for (const total of [25, 21]) {
    const server = await serve(t, pageNumberApi(total, { cap: 7 }));
    const run = await runMethod(release(server.url, { parameters: pageParams, records: 'data' }), 'list', ctx(t));
    assert.deepEqual(ids(run.records), expectedIds(total), `total ${total}`);
  }
});

test('a server capping the page size loses no record (offset advances by what was received)', async (t) => {
  const server = await serve(t, offsetApi(25, { cap: 7 }));
  const params = [
    { name: 'offset', target: 'query' as const, value: '{{PAGE_OFFSET}}' },
    { name: 'limit', target: 'query' as const, value: '{{PAGE_SIZE}}' },
  ];
  const run = await runMethod(release(server.url, { parameters: params, records: 'items' }), 'list', ctx(t));
  assert.deepEqual(ids(run.records), expectedIds(25));
  assert.deepEqual(queries(server, 'offset'), ['0', '7', '14', '21']);
});

test('a repeated cursor stops paging with a warning', async (t) => {
  const server = await serve(t, repeatingCursorApi());
  const params = [
    { name: 'cursor', target: 'query' as const, value: '{{PAGE_TOKEN}}' },
    { name: 'Next', target: 'responseField' as const, targetName: 'next', value: '{{PAGE_TOKEN}}' },
  ];
  const run = await runMethod(release(server.url, { parameters: params, records: 'data' }), 'list', ctx(t));
  assert.equal(run.ok, true);
  assert.equal(server.requests.length, 2);
  assert.equal(run.records.length, 10);
  assert.equal(run.warnings.length, 1);
  assert.equal(run.warnings[0]!.code, 'PAGING_REPEATED');
});

test('an API that ignores the page parameter is caught by the repeated-page guard (no duplicates)', async (t) => {
  const server = await serve(t, statusApi(200, { data: makeRecords(7) }));
  const run = await runMethod(release(server.url, { parameters: pageParams, records: 'data' }), 'list', ctx(t));
  assert.equal(run.ok, true);
  assert.deepEqual(ids(run.records), expectedIds(7));
  assert.equal(server.requests.length, 2);
  assert.deepEqual(run.warnings.map((w) => w.code), ['PAGING_REPEATED']);
});

test('maxPages guard ends an endless API with a warning (method setting and call override)', async (t) => {
  const server = await serve(t, endlessApi(10));
  const compiled = release(server.url, { parameters: pageParams, records: 'data', paging: { maxPages: 4 } });
  const run = await runMethod(compiled, 'list', ctx(t));
  assert.equal(run.pages, 4);
  assert.equal(run.records.length, 40);
  assert.deepEqual(run.warnings.map((w) => w.code), ['PAGING_MAX_PAGES']);

  const run2 = await runMethod(compiled, 'list', ctx(t, { maxPages: 2 }));
  assert.equal(run2.pages, 2);
  assert.match(run2.warnings[0]!.message, /after 2 pages/);
});

test('the default maxPages is 1000', async (t) => {
  const server = await serve(t, endlessApi(1));
  const compiled = release(server.url, { parameters: pageParams, records: 'data', paging: { pageSize: 1 } });
  const run = await runMethod(compiled, 'list', ctx(t));
  assert.equal(run.pages, 1000);
  assert.equal(run.warnings[0]?.code, 'PAGING_MAX_PAGES');
});

test('pages are streamed: the next page is requested only when the consumer asks', async (t) => {
  const server = await serve(t, pageNumberApi(100));
  const execution = executeMethod(release(server.url, { parameters: pageParams, records: 'data' }), 'list', ctx(t));
  const seen: number[] = [];
  for await (const page of execution) {
    seen.push(page.pageNumber);
    assert.equal(server.requests.length, page.pageNumber);
    assert.equal(page.records.length, 10);
    assert.equal(page.response.status, 200);
    assert.match(page.request.url, new RegExp(`page=${page.pageNumber}`));
    if (page.pageNumber === 2) break;
  }
  assert.deepEqual(seen, [1, 2]);
  assert.equal(server.requests.length, 2);
});

test('with inbound paging off, one request is made even when paging parameters exist', async (t) => {
  const server = await serve(t, pageNumberApi(25));
  const compiled = compileRelease(
    { inboundPageSize: 10 },
    { baseUrl: server.url, methods: [{ id: 'list', name: 'List', http: { method: 'GET', path: '/contacts' }, parameters: pageParams, records: 'data' }] },
  );
  const run = await runMethod(compiled, 'list', ctx(t));
  assert.equal(run.records.length, 10);
  assert.deepEqual(queries(server, 'page'), ['1']);
});

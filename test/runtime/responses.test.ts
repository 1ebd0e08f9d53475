import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/http-server.js';
import { compileRelease } from '../../src/runtime/compile.js';
import { executeMethod, runMethod } from '../../src/runtime/executor.js';
import type { MethodContext } from '../../src/runtime/executor.js';
import { FieldCoercionError, MethodCallError } from '../../src/runtime/errors.js';
import { HttpCallError } from '../../src/runtime/http/errors.js';
import type { ConnectorDefinition, Field, Method } from '../../src/definition/schema.js';
import { makeRecords, rawJsonApi, serve, statusApi, testClient, xmlApi } from '../helpers/api-servers.js';

const API_KEY = 'sk_test_SECRET_4242';

function release(baseUrl: string, method: Partial<Method>) {
  const definition: ConnectorDefinition = {
    baseUrl,
    authentications: [{ id: 'key', name: 'Key', type: 'apiKey', in: 'header', header: 'X-Api-Key' }],
    methods: [{ id: 'm', name: 'M', http: { method: 'GET', path: '/x' }, ...method }],
  };
  return compileRelease({}, definition);
}
const ctx = (t: TestContext, more: Partial<MethodContext> = {}): MethodContext => ({ auth: { values: { ApiKey: API_KEY } }, http: testClient(t), ...more });

test('malformed JSON is a typed parse error with a redacted excerpt', async (t) => {
  const server = await serve(t, rawJsonApi(`{"data": [1, 2,, "${API_KEY}"`));
  const run = await runMethod(release(server.url, { records: 'data' }), 'm', ctx(t));
  assert.equal(run.ok, false);
  assert.ok(run.error instanceof HttpCallError);
  assert.equal(run.error.kind, 'parse');
  assert.match(run.error.reason, /malformed JSON/);
  assert.match(run.error.bodyExcerpt ?? '', /^\{"data": \[1, 2,, "\[REDACTED\]"/);
  assert.ok(!run.error.message.includes(API_KEY) && !run.error.reason.includes(API_KEY));
});

test('4xx/5xx become MethodCallError with status, reason and a redacted body excerpt', async (t) => {
  const server = await serve(t, statusApi(403, { error: `key ${API_KEY} may not read contacts` }));
  const run = await runMethod(release(server.url, {}), 'm', ctx(t));
  assert.equal(run.ok, false);
  const err = run.error;
  assert.ok(err instanceof MethodCallError);
  assert.equal(err.kind, 'status');
  assert.equal(err.status, 403);
  assert.equal(err.reason, 'HTTP 403 Forbidden');
  assert.equal(err.methodId, 'm');
  assert.equal(err.bodyExcerpt, '{"error":"key [REDACTED] may not read contacts"}');
  assert.ok(!JSON.stringify(run.requests).includes(API_KEY));

  const s500 = await serve(t, statusApi(503, { error: 'down' }));
  const run500 = await runMethod(release(s500.url, {}), 'm', ctx(t));
  assert.ok(run500.error instanceof MethodCallError && run500.error.status === 503);
});

test('XML responses: records by path, attributes and elements as fields', async (t) => {
  const server = await serve(t, xmlApi(makeRecords(3)));
  const method: Partial<Method> = {
    records: 'response.customers.customer',
    response: {
      fields: [
        { location: '@_id', field: 'Id' },
        { location: 'n', field: 'N', type: 'integer' },
        { location: 'email', field: 'Email' },
      ],
    },
  };
  const run = await runMethod(release(server.url, method), 'm', ctx(t));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(run.records, [
    { Id: 'r1', N: 1, Email: 'user1@example.com' },
    { Id: 'r2', N: 2, Email: 'user2@example.com' },
    { Id: 'r3', N: 3, Email: 'user3@example.com' },
  ]);
  // A single element is one record, not a lost one.
  const one = await serve(t, xmlApi(makeRecords(1)));
  const run1 = await runMethod(release(one.url, method), 'm', ctx(t));
  assert.deepEqual(run1.records, [{ Id: 'r1', N: 1, Email: 'user1@example.com' }]);
});

test('form-encoded and text responses', async (t) => {
  const server = await serve(
    t,
    startServer((req, res) => {
      if (req.url === '/form') {
        res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
        res.end('id=7&name=Ann+Lee');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('pong');
      }
    }),
  );
  const form = await runMethod(release(server.url, { http: { method: 'GET', path: '/form' } }), 'm', ctx(t));
  assert.deepEqual(form.records, [{ id: '7', name: 'Ann Lee' }]);
  const text = await runMethod(release(server.url, { http: { method: 'GET', path: '/text' } }), 'm', ctx(t));
  assert.deepEqual(text.records, [{ value: 'pong' }]);
});

const typedFields: Field[] = [
  { location: 'id', field: 'Id', type: 'text' },
  { location: 'count', field: 'Count', type: 'integer' },
  { location: 'ratio', field: 'Ratio', type: 'float' },
  { location: 'price', field: 'Price', type: 'decimal' },
  { location: 'active', field: 'Active', type: 'boolean' },
  { location: 'created', field: 'Created', type: 'datetime' },
  { location: 'day', field: 'Day', type: 'datetime', format: 'dd/MM/yyyy' },
  { location: 'ts', field: 'Ts', type: 'datetime', format: 'unix' },
  { location: 'tsms', field: 'TsMs', type: 'datetime', format: 'unixms' },
  { location: 'file', field: 'File', type: 'file' },
  { location: 'meta.tags[]', field: 'Tags', type: 'text' },
  { location: 'missing', field: 'Status', type: 'text', default: 'new' },
  { location: 'gone', field: 'Gone', type: 'integer' },
];

test('field coercion of every type', async (t) => {
  const rows = [
    {
      id: 17,
      count: '12',
      ratio: '0.25',
      price: '19.9900000000005',
      active: 'yes',
      created: '2024-02-29T13:14:15+02:00',
      day: '05/03/2024',
      ts: 1700000000,
      tsms: '1700000000123',
      file: 'https://files.example.com/a.pdf',
      meta: { tags: [1, true, 'x'] },
      gone: null,
    },
    { id: 'b', count: 3, ratio: 1e-3, price: '12.50', active: 0, created: '2024-01-01', day: '31/12/1999', ts: '0', tsms: 0, file: { url: 'u' }, meta: { tags: [] }, gone: '' },
  ];
  const server = await serve(t, startServer((_req, res) => res.end(JSON.stringify({ rows }))));
  const run = await runMethod(release(server.url, { records: 'rows', response: { fields: typedFields } }), 'm', ctx(t));
  assert.equal(run.ok, true, String(run.error));
  assert.deepEqual(run.records[0], {
    Id: '17',
    Count: 12,
    Ratio: 0.25,
    Price: '19.990000000001',
    Active: true,
    Created: '2024-02-29T11:14:15.000Z',
    Day: '2024-03-05T00:00:00.000Z',
    Ts: '2023-11-14T22:13:20.000Z',
    TsMs: '2023-11-14T22:13:20.123Z',
    File: 'https://files.example.com/a.pdf',
    Tags: ['1', 'true', 'x'],
    Status: 'new',
    Gone: null,
  });
  assert.deepEqual(run.records[1], {
    Id: 'b',
    Count: 3,
    Ratio: 0.001,
    Price: '12.50',
    Active: false,
    Created: '2024-01-01T00:00:00.000Z',
    Day: '1999-12-31T00:00:00.000Z',
    Ts: '1970-01-01T00:00:00.000Z',
    TsMs: '1970-01-01T00:00:00.000Z',
    File: { url: 'u' },
    Tags: [],
    Status: 'new',
    Gone: null,
  });
});

test('a coercion failure names the field, the record index and the value', async (t) => {
  const rows = [...makeRecords(3).map((r) => ({ ...r, amount: '10.5' })), { id: 'bad', amount: 'ten' }];
  const server = await serve(t, startServer((_req, res) => res.end(JSON.stringify(rows))));
  const method: Partial<Method> = { records: '', response: { fields: [{ location: 'amount', field: 'Amount', type: 'float' }] } };
  const run = await runMethod(release(server.url, method), 'm', ctx(t));
  assert.equal(run.ok, false);
  const err = run.error;
  assert.ok(err instanceof FieldCoercionError);
  assert.equal(err.field, 'Amount');
  assert.equal(err.recordIndex, 3);
  assert.equal(err.value, '"ten"');
  assert.equal(err.message, 'field "Amount" (record 3): cannot convert "ten" to float');

  const badDate = await serve(t, startServer((_req, res) => res.end(JSON.stringify([{ d: '2024-02-30' }]))));
  const run2 = await runMethod(release(badDate.url, { records: '.', response: { fields: [{ location: 'd', field: 'Due', type: 'datetime' }] } }), 'm', ctx(t));
  assert.match(String(run2.error), /field "Due" \(record 0\): cannot convert "2024-02-30" to datetime \(iso8601\)/);
});

test('record indexes in coercion errors count across pages; includeRaw keeps the raw record', async (t) => {
  const server = await serve(
    t,
    startServer((req, res) => {
      const page = Number(new URL(req.url!, 'http://x').searchParams.get('page'));
      res.end(JSON.stringify({ data: page === 1 ? [{ v: '1' }, { v: '2' }] : [{ v: 'x' }] }));
    }),
  );
  const compiled = compileRelease(
    { inboundPaging: true, inboundPageSize: 2 },
    {
      baseUrl: server.url,
      methods: [
        {
          id: 'm',
          name: 'M',
          http: { method: 'GET', path: '/x' },
          parameters: [{ name: 'page', target: 'query', value: '{{PAGE_NUMBER}}' }],
          records: 'data',
          response: { fields: [{ location: 'v', field: 'V', type: 'integer' }] },
        },
      ],
    },
  );
  const pages: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const page of executeMethod(compiled, 'm', ctx(t, { includeRaw: true }))) pages.push(page.records);
    })(),
    (err: unknown) => err instanceof FieldCoercionError && err.recordIndex === 2 && err.field === 'V',
  );
  assert.deepEqual(pages, [[{ V: 1, _raw: { v: '1' } }, { V: 2, _raw: { v: '2' } }]]);
});

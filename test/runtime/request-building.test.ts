import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { compileRelease } from '../../src/runtime/compile.js';
import { runMethod } from '../../src/runtime/executor.js';
import type { MethodContext } from '../../src/runtime/executor.js';
import { MethodInputError } from '../../src/runtime/errors.js';
import type { ConnectorDefinition, Method } from '../../src/definition/schema.js';
import { echoApi, serve, testClient } from '../helpers/api-servers.js';

function release(baseUrl: string, method: Partial<Method>, extra: Partial<ConnectorDefinition> = {}) {
  return compileRelease({}, { baseUrl, methods: [{ id: 'm', name: 'M', http: { method: 'POST', path: '/things' }, ...method }], ...extra });
}
const ctx = (t: TestContext, more: Partial<MethodContext> = {}): MethodContext => ({ auth: { values: {} }, http: testClient(t), ...more });

const contactFields: Method['request'] = {
  fields: [
    { location: 'name', field: 'Name', type: 'text' },
    { location: 'age', field: 'Age', type: 'integer' },
    { location: 'address.city', field: 'City', type: 'text', optional: true },
    { location: 'active', field: 'Active', type: 'boolean', optional: true },
    { location: 'tags[]', field: 'Tags', type: 'text', optional: true },
  ],
};

test('JSON body: request fields coerced and placed at their locations', async (t) => {
  const server = await serve(t, echoApi());
  const run = await runMethod(release(server.url, { request: contactFields }), 'm', ctx(t, { fields: { Name: 'Ann', Age: '42', City: 'Leeds', Active: 'yes', Tags: ['a', 'b'] } }));
  assert.equal(run.ok, true, String(run.error));
  const received = server.requests[0]!;
  assert.equal(received.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(received.body), { name: 'Ann', age: 42, address: { city: 'Leeds' }, active: true, tags: ['a', 'b'] });
});

test('form body: nested objects and arrays use bracket keys', async (t) => {
  const server = await serve(t, echoApi());
  const run = await runMethod(
    release(server.url, { request: { ...contactFields, format: 'form' } }),
    'm',
    ctx(t, { fields: { Name: 'Ann & Bob', Age: 7, City: 'Zürich', Tags: ['x', 'y'] } }),
  );
  assert.equal(run.ok, true, String(run.error));
  const received = server.requests[0]!;
  assert.equal(received.headers['content-type'], 'application/x-www-form-urlencoded');
  const form = new URLSearchParams(received.body);
  assert.equal(form.get('name'), 'Ann & Bob');
  assert.equal(form.get('age'), '7');
  assert.equal(form.get('address[city]'), 'Zürich');
  assert.deepEqual(form.getAll('tags[]'), ['x', 'y']);
});

test('multipart body: text parts and a named file part', async (t) => {
  const server = await serve(t, echoApi());
  const fileBytes = Buffer.from([0, 1, 2, 250, 255, 13, 10, 45, 45]);
  const method: Partial<Method> = {
    http: { method: 'POST', path: '/upload' },
    request: {
      format: 'multipart',
      fields: [
        { location: 'title', field: 'Title', type: 'text' },
        { location: 'document', field: 'Document', type: 'file' },
      ],
    },
  };
  const run = await runMethod(
    release(server.url, method),
    'm',
    ctx(t, { fields: { Title: 'Q3 "report"', Document: { fileName: 'q3.bin', contentType: 'application/pdf', base64: fileBytes.toString('base64') } } }),
  );
  assert.equal(run.ok, true, String(run.error));
  const received = server.requests[0]!;
  const ct = String(received.headers['content-type']);
  assert.match(ct, /^multipart\/form-data; boundary=/);
  assert.ok(received.body.includes('Content-Disposition: form-data; name="title"\r\n\r\nQ3 "report"\r\n'));
  assert.ok(received.body.includes('Content-Disposition: form-data; name="document"; filename="q3.bin"\r\nContent-Type: application/pdf\r\n'));
});

test('multipart file bytes survive exactly', async (t) => {
  // A server that keeps raw bytes (the shared echo helper decodes bodies as UTF-8).
  const { createServer } = await import('node:http');
  let raw = Buffer.alloc(0);
  let contentType = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      raw = Buffer.concat(chunks);
      contentType = String(req.headers['content-type']);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const method: Partial<Method> = { request: { format: 'multipart', fields: [{ location: 'file', field: 'File', type: 'file' }, { location: 'note', field: 'Note' }] } };
  const run = await runMethod(release(url, method), 'm', ctx(t, { fields: { File: `data:image/png;base64,${bytes.toString('base64')}`, Note: 'hello' } }));
  assert.equal(run.ok, true, String(run.error));
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  assert.equal(form.get('note'), 'hello');
  const file = form.get('file') as File;
  assert.equal(file.type, 'image/png');
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), bytes);
});

test('XML body with xmlRoot; attributes via @_', async (t) => {
  const server = await serve(t, echoApi());
  const method: Partial<Method> = {
    request: {
      format: 'xml',
      xmlRoot: 'contact',
      fields: [
        { location: '@_id', field: 'Id' },
        { location: 'name', field: 'Name' },
        { location: 'phones.phone[]', field: 'Phones' },
      ],
    },
  };
  const run = await runMethod(release(server.url, method), 'm', ctx(t, { fields: { Id: 'c1', Name: 'Ann <A&B>', Phones: ['1', '2'] } }));
  assert.equal(run.ok, true, String(run.error));
  const received = server.requests[0]!;
  assert.equal(received.headers['content-type'], 'application/xml');
  assert.ok(received.body.startsWith('<?xml version="1.0" encoding="UTF-8"?><contact id="c1">'));
  const parsed = new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(received.body) as { contact: Record<string, unknown> };
  assert.deepEqual(parsed.contact, { '@_id': 'c1', name: 'Ann <A&B>', phones: { phone: ['1', '2'] } });
});

test('text body', async (t) => {
  const server = await serve(t, echoApi());
  const method: Partial<Method> = { request: { format: 'text', fields: [{ location: '.', field: 'Content' }] } };
  const run = await runMethod(release(server.url, method), 'm', ctx(t, { fields: { Content: 'line 1\nline 2' } }));
  assert.equal(run.ok, true, String(run.error));
  assert.equal(server.requests[0]!.body, 'line 1\nline 2');
  assert.equal(server.requests[0]!.headers['content-type'], 'text/plain; charset=utf-8');
});

test('parameters: merge fields in base URL and path (encoded), query, header, defaults, properties', async (t) => {
  const server = await serve(t, echoApi());
  const definition: Partial<ConnectorDefinition> = {
    parameters: [
      { name: 'Version', target: 'mergeField', scope: 'partner' },
      { name: 'X-Tenant', target: 'header', scope: 'account', value: 'tenant-{{TenantId}}' },
      { name: 'TenantId', target: 'script', scope: 'account' },
    ],
  };
  const method: Partial<Method> = {
    http: { method: 'GET', path: '/{{Version}}/contacts/{{ContactId}}', headers: { 'X-Static': 'static {{Version}}' } },
    parameters: [
      { name: 'ContactId', target: 'mergeField' },
      { name: 'include', target: 'query', default: 'owner' },
      { name: 'q', target: 'query', optional: true },
      { name: 'since', target: 'query', value: '{{LastSuccessfulRunDate format=yyyy-MM-dd}}' },
    ],
  };
  const compiled = release(`${server.url}/api`, method, definition);
  const run = await runMethod(compiled, 'm', ctx(t, {
    properties: { Version: 'v2', TenantId: '77' },
    parameters: { ContactId: 'a/b c?d' },
    vars: { LastSuccessfulRunDate: '2024-03-05T10:11:12Z' },
  }));
  assert.equal(run.ok, true, String(run.error));
  const received = server.requests[0]!;
  assert.equal(received.url, '/api/v2/contacts/a%2Fb%20c%3Fd?include=owner&since=2024-03-05');
  assert.equal(received.headers['x-tenant'], 'tenant-77');
  assert.equal(received.headers['x-static'], 'static v2');
  assert.equal(received.body, '');
});

test('a merge value cannot move the request to another host', async (t) => {
  const compiled = compileRelease({}, {
    baseUrl: 'https://{{Subdomain}}.example.com',
    parameters: [{ name: 'Subdomain', target: 'mergeField', scope: 'account' }],
    methods: [{ id: 'm', name: 'M', http: { method: 'GET', path: '/x' } }],
  });
  const run = await runMethod(compiled, 'm', ctx(t, { properties: { Subdomain: 'evil.com/steal#' } }));
  assert.equal(run.ok, false);
  assert.ok(run.error instanceof MethodInputError);
  assert.match(run.error.message, /Subdomain/);
  assert.equal(run.requests.length, 0);
});

test('missing required parameters and fields are reported together, before any request', async (t) => {
  const server = await serve(t, echoApi());
  const method: Partial<Method> = { parameters: [{ name: 'ContactId', target: 'mergeField' }], http: { method: 'PUT', path: '/c/{{ContactId}}' }, request: contactFields };
  const run = await runMethod(release(server.url, method), 'm', ctx(t, { fields: { Name: 'x' } }));
  assert.equal(run.ok, false);
  assert.ok(run.error instanceof MethodInputError);
  assert.equal(run.error.message, 'missing required parameter "ContactId", field "Age"');
  assert.equal(server.requests.length, 0);
});

test('a method parameter overrides a connector one; IGNORE_PARAMETER drops it', async (t) => {
  const server = await serve(t, echoApi());
  const definition: Partial<ConnectorDefinition> = {
    parameters: [
      { name: 'format', target: 'query', value: 'json', scope: 'fixed' },
      { name: 'expand', target: 'query', value: 'all', scope: 'fixed' },
    ],
    methods: [
      {
        id: 'm',
        name: 'M',
        http: { method: 'GET', path: '/x' },
        parameters: [
          { name: 'format', target: 'query', value: 'xml', scope: 'fixed' },
          { name: 'expand', target: 'query', value: '{{CYCLR_IGNORE_PARAMETER}}' },
        ],
      },
    ],
  };
  const compiled = compileRelease({}, { baseUrl: server.url, ...definition });
  const run = await runMethod(compiled, 'm', ctx(t));
  assert.equal(run.ok, true, String(run.error));
  assert.equal(server.requests[0]!.url, '/x?format=xml');
});

test('sensitive parameters are masked in logs', async (t) => {
  const server = await serve(t, echoApi());
  const definition: Partial<ConnectorDefinition> = {
    parameters: [
      { name: 'X-Session', target: 'header', scope: 'account', sensitive: true },
      { name: 'sig', target: 'query', scope: 'account', sensitive: true, targetName: 'signature_value' },
    ],
  };
  const compiled = release(server.url, { http: { method: 'GET', path: '/x' } }, definition);
  const run = await runMethod(compiled, 'm', ctx(t, { properties: { 'X-Session': 'sess-abcdef', sig: 'sig-123456' } }));
  assert.equal(run.ok, true, String(run.error));
  assert.equal(server.requests[0]!.headers['x-session'], 'sess-abcdef');
  const logs = JSON.stringify(run.requests);
  assert.ok(!logs.includes('sess-abcdef') && !logs.includes('sig-123456'), logs);
  assert.equal(run.requests[0]!.request.headers['X-Session'], '[REDACTED]');
});

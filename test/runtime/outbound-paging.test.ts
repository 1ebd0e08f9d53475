import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRelease } from '../../src/runtime/compile.js';
import { runMethod } from '../../src/runtime/executor.js';
import { sendOutbound } from '../../src/runtime/outbound-paging.js';
import { MethodCallError } from '../../src/runtime/errors.js';
import type { ConnectorDefinition, ReleaseSettings } from '../../src/definition/schema.js';
import { bulkApi, serve, testClient } from '../helpers/api-servers.js';

const definition = (baseUrl: string): ConnectorDefinition => ({
  baseUrl,
  methods: [
    {
      id: 'bulk-create',
      name: 'Create Contacts',
      http: { method: 'POST', path: '/bulk' },
      request: {
        fields: [
          { location: 'records[].name', field: 'Name' },
          { location: 'records[].fail', field: 'Fail', type: 'boolean', optional: true },
          { location: 'source', field: 'Source', default: 'plexus' },
        ],
      },
      paging: { outboundLocation: 'records' },
      records: 'results',
      response: { fields: [{ location: 'id', field: 'Id' }] },
    },
  ],
});

const settings: ReleaseSettings = { outboundPaging: true, outboundPageSize: 4 };

test('outbound paging sends chunks of at most the page size and reports a failing chunk', async (t) => {
  const server = await serve(t, bulkApi());
  const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const fail = names.map((_, i) => i === 5); // item 5 lands in the second chunk
  const compiled = compileRelease(settings, definition(server.url));
  const result = await sendOutbound(compiled, 'bulk-create', { auth: { values: {} }, http: testClient(t), fields: { Name: names, Fail: fail } });

  assert.deepEqual(
    result.chunks.map((c) => ({ index: c.index, items: c.items, status: c.status, ok: c.ok })),
    [
      { index: 0, items: [0, 4], status: 200, ok: true },
      { index: 1, items: [4, 8], status: 422, ok: false },
      { index: 2, items: [8, 10], status: 200, ok: true },
    ],
  );
  assert.equal(result.chunks[1]!.error?.kind, 'status');
  assert.equal(result.chunks[1]!.error?.status, 422);
  assert.match(result.chunks[1]!.error?.message ?? '', /validation failed/);
  assert.ok((result.chunks[1] as { cause?: unknown }).cause instanceof MethodCallError);
  assert.doesNotThrow(() => JSON.stringify(result));

  // What the server received: the array split, everything else repeated.
  const bodies = server.requests.map((r) => JSON.parse(r.body) as { records: Array<{ name: string }>; source: string });
  assert.deepEqual(bodies.map((b) => b.records.map((r) => r.name)), [names.slice(0, 4), names.slice(4, 8), names.slice(8)]);
  assert.ok(bodies.every((b) => b.source === 'plexus'));
  assert.deepEqual(result.records.map((r) => r.Id), ['id-c0', 'id-c1', 'id-c2', 'id-c3', 'id-c8', 'id-c9']);
});

test('runMethod uses outbound paging and reports the failure', async (t) => {
  const server = await serve(t, bulkApi());
  const compiled = compileRelease(settings, definition(server.url));
  const run = await runMethod(compiled, 'bulk-create', { auth: { values: {} }, http: testClient(t), fields: { Name: ['a', 'b', 'c', 'd', 'e'], Fail: [false, false, false, false, true] } });
  assert.equal(run.ok, false);
  assert.deepEqual(run.chunks?.map((c) => [c.items, c.ok]), [[[0, 4], true], [[4, 5], false]]);
  assert.ok(run.error instanceof MethodCallError);
  assert.equal(run.requests.length, 2);
  assert.equal(run.records.length, 4);
});

test('an array no larger than the page size (or outbound off) goes in one request', async (t) => {
  const server = await serve(t, bulkApi());
  const small = await sendOutbound(compileRelease(settings, definition(server.url)), 'bulk-create', { auth: { values: {} }, http: testClient(t), fields: { Name: ['a', 'b', 'c', 'd'] } });
  assert.deepEqual(small.chunks.map((c) => [c.items, c.ok]), [[[0, 4], true]]);
  const off = await runMethod(compileRelease({ outboundPageSize: 2 }, definition(server.url)), 'bulk-create', { auth: { values: {} }, http: testClient(t), fields: { Name: ['a', 'b', 'c'] } });
  assert.equal(off.ok, true, String(off.error));
  assert.equal(off.chunks, undefined);
  assert.equal(JSON.parse(server.requests[1]!.body).records.length, 3);
});

// Resuming inbound paging (used by account "data on demand" calls, which hand out one page at a
// time with a cursor): every page carries `next`, and `ctx.startAt` continues from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRelease } from '../../src/runtime/compile.js';
import { executeMethod } from '../../src/runtime/executor.js';
import type { MethodPage } from '../../src/runtime/executor.js';
import type { PageState } from '../../src/runtime/paging/paginator.js';
import { pageNumberApi, stripeLikeApi, serve, testClient } from '../helpers/api-servers.js';

async function firstPage(iterable: AsyncIterable<MethodPage>): Promise<MethodPage | undefined> {
  for await (const page of iterable) return page;
  return undefined;
}

test('page numbers: each page hands out the next state; startAt resumes there', async (t) => {
  const server = await serve(t, pageNumberApi(5));
  const compiled = compileRelease({ inboundPaging: true, inboundPageSize: 2 }, {
    baseUrl: server.url,
    methods: [{
      id: 'list', name: 'List', http: { method: 'GET', path: '/contacts' }, records: 'data',
      parameters: [{ name: 'page', target: 'query', value: '{{PAGE_NUMBER}}' }, { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}' }],
    }],
  });
  const http = testClient(t);
  const ids: unknown[] = [];
  let startAt: PageState | undefined;
  for (let i = 0; i < 10; i++) {
    const page = await firstPage(executeMethod(compiled, 'list', { auth: { values: {} }, http, ...(startAt ? { startAt } : {}) }));
    assert.ok(page);
    ids.push(...page.records.map((r) => r.id));
    // A state survives JSON (account cursors are sealed JSON).
    startAt = page.next && (JSON.parse(JSON.stringify(page.next)) as PageState);
    if (!startAt) break;
  }
  assert.deepEqual(ids, ['r1', 'r2', 'r3', 'r4', 'r5']);
  assert.equal(new URL(server.requests[1]!.url, 'http://x').searchParams.get('page'), '2');
});

test('cursors: the next state carries the token', async (t) => {
  const server = await serve(t, stripeLikeApi(3));
  const compiled = compileRelease({ inboundPaging: true, inboundPageSize: 2 }, {
    baseUrl: server.url,
    methods: [{
      id: 'list', name: 'List', http: { method: 'GET', path: '/v1/customers' }, records: 'data',
      parameters: [
        { name: 'limit', target: 'query', value: '{{PAGE_SIZE}}' },
        { name: 'starting_after', target: 'query', value: '{{PAGE_TOKEN}}' },
        { name: 'cursor', target: 'responseField', targetName: 'data[-1].id', value: '{{PAGE_TOKEN}}' },
      ],
    }],
  });
  const http = testClient(t);
  const first = await firstPage(executeMethod(compiled, 'list', { auth: { values: {} }, http }));
  assert.equal(first?.next?.vars.PAGE_TOKEN, 'cus_2');
  const second = await firstPage(executeMethod(compiled, 'list', { auth: { values: {} }, http, startAt: first!.next }));
  assert.deepEqual(second?.records.map((r) => r.id), ['cus_3']);
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, freshKey, runnerFor } from './engines.js';
import { EventDispatcher } from '../../src/scripting/event-dispatcher.js';
import { ScriptCallState } from '../../src/scripting/call-state.js';
import type { RunEventRequest } from '../../src/scripting/script-runner.js';
import type { ScriptGlobals } from '../../src/scripting/events.js';

const tracer = (tag: string, target: string) => `
function before_action() { method_request.order.push('${tag}'); return true; }
function after_action() { ${target}.order.push('${tag}'); return true; }
function after_action_paging() { method_response.order.push('${tag}'); return true; }
function before_webhook() { method_request.order.push('${tag}'); return true; }
function after_webhook() { method_response.order.push('${tag}'); return true; }
function before_oauth2_token() { method_request.order.push('${tag}'); return true; }
function after_oauth2_token() { method_response.order.push('${tag}'); return true; }
`;

for (const engine of ENGINES) {
  describe(`events on ${engine}`, () => {
    const run = async (req: Omit<RunEventRequest, 'isolationKey'> & { isolationKey?: string }) =>
      (await runnerFor(engine)).runEvent({ isolationKey: freshKey(), ...req });

    test('before* events run method → connector → step; the others connector → method → step', async () => {
      const sources = { connector: tracer('connector', 'method_response'), method: tracer('method', 'method_response'), step: tracer('step', 'method_response') };
      const before = await run({ event: 'before_action', sources, globals: { method_request: { order: [] } } });
      assert.deepEqual(before.result, { kind: 'ok' });
      assert.deepEqual((before.globals.method_request as { order: string[] }).order, ['method', 'connector', 'step']);
      assert.deepEqual(before.ran, ['method', 'connector', 'step']);
      const after = await run({ event: 'after_action', sources, globals: { method_response: { order: [] } } });
      assert.deepEqual((after.globals.method_response as { order: string[] }).order, ['connector', 'method', 'step']);
      const paging = await run({ event: 'after_action_paging', sources, globals: { method_response: { order: [] } } });
      assert.deepEqual((paging.globals.method_response as { order: string[] }).order, ['connector', 'method', 'step']);
      const hookIn = await run({ event: 'before_webhook', sources, globals: { method_request: { order: [] } } });
      assert.deepEqual((hookIn.globals.method_request as { order: string[] }).order, ['method', 'connector', 'step']);
      const hookAfter = await run({ event: 'after_webhook', sources, globals: { method_response: { order: [] } } });
      assert.deepEqual((hookAfter.globals.method_response as { order: string[] }).order, ['connector', 'method', 'step']);
    });

    test('connector-builder-only events (OAuth2, action_condition) skip step-level handlers', async () => {
      const sources = { connector: tracer('connector', 'method_response'), method: tracer('method', 'method_response'), step: tracer('step', 'method_response') };
      const token = await run({ event: 'before_oauth2_token', sources, globals: { method_request: { order: [] } } });
      assert.deepEqual((token.globals.method_request as { order: string[] }).order, ['method', 'connector']);
      const after = await run({ event: 'after_oauth2_token', sources, globals: { method_response: { order: [] } } });
      assert.deepEqual((after.globals.method_response as { order: string[] }).order, ['connector', 'method']);
      const cond = await run({
        event: 'action_condition',
        sources: { method: 'function action_condition() { return true }', step: 'function action_condition() { return false }' },
        globals: { method_response: {} },
      });
      assert.equal(cond.route, true);
      assert.deepEqual(cond.ran, ['method']);
    });

    test('each level keeps its own top-level scope; handlers of one level never run at another', async () => {
      const r = await run({
        event: 'before_action',
        sources: {
          connector: `var who = 'connector'; let same = 1; function helper() { return who } function before_action() { method_request.seen.push(helper()); return true }`,
          method: `var who = 'method'; let same = 2; function helper() { return who } function before_action() { method_request.seen.push(helper()); return true }`,
          // An implicit global handler must not leak to the next level.
          step: `after_action = function () { return true }; function before_action() { method_request.seen.push(typeof who + ':' + typeof helper); return true }`,
        },
        globals: { method_request: { seen: [] } },
      });
      assert.deepEqual(r.result, { kind: 'ok' });
      assert.deepEqual((r.globals.method_request as { seen: string[] }).seen, ['method', 'connector', 'undefined:undefined']);
    });

    test('globals a script creates do not survive into the next execution of the same key', async () => {
      const isolationKey = freshKey();
      const first = await run({ isolationKey, event: 'after_action', sources: { step: 'leaked = method_response; var declared = 1; function after_action() { counter = (typeof counter === "number" ? counter : 0) + 1; return true }' }, globals: { method_response: { secret: 1 } } });
      assert.deepEqual(first.result, { kind: 'ok' });
      const second = await run({ isolationKey, event: 'after_action', sources: { step: 'function after_action() { method_response = [typeof leaked, typeof counter, typeof declared, typeof method_request]; return true }' }, globals: { method_response: null } });
      assert.deepEqual(second.globals.method_response, ['undefined', 'undefined', 'undefined', 'undefined']);
    });

    test('before_action: changes to the request take effect; false aborts and stops the chain', async () => {
      const r = await run({
        event: 'before_action',
        sources: {
          method: `function before_action() {
            method_endpoint = method_endpoint + '/v2';
            method_request_headers['X-Sig'] = 'abc';
            method_request_parameters.page = 2;
            method_request.name = method_request.name.toUpperCase();
            method_request_mergefields.Extra = 'kept';
            return true;
          }`,
        },
        globals: {
          method_endpoint: 'https://api.example.com/contacts',
          method_request_headers: { Accept: 'application/json' },
          method_request_parameters: {},
          method_request: { name: 'ada' },
          method_request_mergefields: { Id: '7' },
        },
      });
      assert.deepEqual(r.globals, {
        method_endpoint: 'https://api.example.com/contacts/v2',
        method_request_headers: { Accept: 'application/json', 'X-Sig': 'abc' },
        method_request_parameters: { page: 2 },
        method_request: { name: 'ADA' },
        method_request_mergefields: { Id: '7', Extra: 'kept' },
      });
      const abort = await run({
        event: 'before_action',
        sources: { method: 'function before_action() { return false }', connector: 'function before_action() { method_request.touched = true; return true }' },
        globals: { method_request: {} },
      });
      assert.deepEqual(abort.result, { kind: 'false', level: 'method' });
      assert.deepEqual(abort.ran, ['method']);
      assert.deepEqual(abort.globals.method_request, {});
      // Only a strict false aborts: a forgotten return does not.
      const forgot = await run({ event: 'before_action', sources: { method: 'function before_action() { }' }, globals: { method_request: {} } });
      assert.deepEqual(forgot.result, { kind: 'ok' });
    });

    test('after_action ignores the return value and hands back the changed response', async () => {
      const r = await run({
        event: 'after_action',
        sources: {
          connector: `function after_action() {
            var original = method_response.properties; method_response.properties = {};
            for (var i = 0; i < original.length; i++) method_response.properties[original[i].key] = original[i].value;
            method_response_headers['x-seen'] = String(statusCode) + ' ' + reasonPhrase;
            return false;
          }`,
          method: 'function after_action() { method_response.endpoint = method_endpoint; method_response.sent = method_request; return true }',
        },
        globals: {
          method_endpoint: 'https://api.example.com/c',
          method_request: { q: 1 },
          method_response: { properties: [{ key: 'email', value: 'a@b.c' }] },
          method_response_headers: {},
          statusCode: 200,
          reasonPhrase: 'OK',
        },
      });
      assert.deepEqual(r.result, { kind: 'ok' });
      assert.deepEqual(r.ran, ['connector', 'method']);
      assert.deepEqual(r.globals.method_response, { properties: { email: 'a@b.c' }, endpoint: 'https://api.example.com/c', sent: { q: 1 } });
      assert.deepEqual(r.globals.method_response_headers, { 'x-seen': '200 OK' });
    });

    test('throw fails with the message, level, line and column', async () => {
      const r = await run({
        event: 'after_action',
        sources: { connector: 'function after_action() { return true }', method: 'var a = 1;\nfunction after_action() {\n  if (method_response.bad)\n    throw new Error("the API said no");\n}' },
        globals: { method_response: { bad: true } },
      });
      assert.equal(r.result.kind, 'error');
      if (r.result.kind !== 'error') return;
      assert.equal(r.result.error.code, 'SCRIPT_ERROR');
      assert.equal(r.result.error.message, 'the API said no');
      assert.equal(r.result.error.level, 'method');
      assert.equal(r.result.error.line, 4);
      assert.equal(r.result.error.name, 'Error');
      assert.ok((r.result.error.column ?? 0) > 0);
      const thrownString = await run({ event: 'after_action', sources: { step: 'function after_action() { throw "plain text" }' }, globals: {} });
      assert.equal(thrownString.result.kind === 'error' && thrownString.result.error.message, 'plain text');
      const typeError = await run({ event: 'after_action', sources: { step: 'function after_action() {\n  return method_response.a.b.c;\n}' }, globals: { method_response: {} } });
      assert.ok(typeError.result.kind === 'error' && typeError.result.error.name === 'TypeError' && typeError.result.error.line === 2);
    });

    test('AuthRefreshException and AuthSessionException surface as typed results', async () => {
      const refresh = await run({
        event: 'after_action',
        sources: { method: "function after_action() { if (method_response.error === 'invalid_grant') throw new AuthRefreshException(); return true }" },
        globals: { method_response: { error: 'invalid_grant' } },
      });
      assert.deepEqual(refresh.result, { kind: 'auth_refresh', level: 'method', message: 'AuthRefreshException' });
      const session = await run({
        event: 'after_error',
        sources: { connector: 'function after_error() { if (method_error.statusCode.toString() == 403) throw new AuthSessionException("logged out"); return true }' },
        globals: { method_error: { statusCode: 403, reasonPhrase: 'Forbidden', content: '', isError: true, isWarning: false, isSuccess: false } },
      });
      assert.deepEqual(session.result, { kind: 'auth_session', level: 'connector', message: 'logged out' });
    });

    test('action_condition picks the route; the first falsy handler takes the False route', async () => {
      const src = 'function action_condition() { return method_response.items.length > 0 }';
      const yes = await run({ event: 'action_condition', sources: { method: src }, globals: { method_response: { items: [1] } } });
      assert.equal(yes.route, true);
      assert.deepEqual(yes.result, { kind: 'ok' });
      const no = await run({ event: 'action_condition', sources: { connector: 'function action_condition() { return true }', method: src }, globals: { method_response: { items: [] } } });
      assert.equal(no.route, false);
      assert.deepEqual(no.result, { kind: 'false', level: 'method' });
      const undef = await run({ event: 'action_condition', sources: { method: 'function action_condition() { }' }, globals: {} });
      assert.equal(undef.route, false);
    });

    test('after_error exposes method_error and takes back its switches', async () => {
      const r = await run({
        event: 'after_error',
        sources: {
          method: `function after_error() {
            if (method_error.statusCode.toString() == 400 && method_error.reasonPhrase == 'Email Address not valid') {
              method_error.isError = false; method_error.isSuccess = true; method_error.content = '{}';
            }
            action_data.handled = true;
            return true;
          }`,
        },
        globals: { method_error: { statusCode: 400, reasonPhrase: 'Email Address not valid', content: '{"error":"bad"}', isError: true, isWarning: false, isSuccess: false }, action_data: {} },
      });
      assert.deepEqual(r.globals.method_error, { statusCode: 400, reasonPhrase: 'Email Address not valid', content: '{}', isError: false, isWarning: false, isSuccess: true });
      assert.deepEqual(r.globals.action_data, { handled: true });
    });

    test('each event sees its documented globals only; script_parameters and cycle_variables are not handed back', async () => {
      const probe = `function X() {
        method_request = {
          auth: typeof method_auth_value, error: typeof method_error, ids: [cycle_step_id, cycle_id, cyclr_account_id, external_account_id, transaction_id],
          ctx: script_execution_context, params: JSON.parse(JSON.stringify(script_parameters)), vars: JSON.parse(JSON.stringify(cycle_variables)), lsrd: typeof last_successful_run_date
        };
        method_response = method_request;
        script_parameters.changed = true; cycle_variables.changed = true;
        return true;
      }`;
      const all: ScriptGlobals = {
        method_auth_value: 'k-123456',
        method_error: { statusCode: 1, reasonPhrase: '', content: '', isError: true, isWarning: false, isSuccess: false },
        cycle_step_id: 's1',
        cycle_id: 'c1',
        cyclr_account_id: 'a1',
        external_account_id: 'ext-1',
        transaction_id: 't1',
        script_execution_context: 'STEP_TESTING',
        script_parameters: { p: 1 },
        cycle_variables: { v: 2 },
        last_successful_run_date: '2024-01-01T00:00:00Z',
      };
      const before = await run({ event: 'before_action', sources: { method: probe.replace('X', 'before_action') }, globals: { ...all, method_request: {} } });
      assert.deepEqual(before.globals.method_request, {
        auth: 'string',
        error: 'undefined',
        ids: ['s1', 'c1', 'a1', 'ext-1', 't1'],
        ctx: 'STEP_TESTING',
        params: { p: 1 },
        vars: { v: 2 },
        lsrd: 'string',
      });
      assert.equal('script_parameters' in before.globals, false);
      assert.equal('cycle_variables' in before.globals, false);
      assert.equal('method_auth_value' in before.globals, false);
      const after = await run({ event: 'after_action', sources: { method: probe.replace('X', 'after_action') }, globals: { ...all, method_response: {} } });
      assert.equal((after.globals.method_response as { auth: string }).auth, 'undefined');
      assert.equal((after.globals.method_response as { lsrd: string }).lsrd, 'undefined');
      const oauth = await run({ event: 'after_oauth2_token', sources: { connector: probe.replace('X', 'after_oauth2_token').replace(/ids: \[[^\]]*\],/, '') }, globals: { ...all, method_response: {} } });
      assert.equal((oauth.globals.method_response as { params: unknown }).params !== undefined, true);
    });

    test('the globals handed in are copies: the host objects are never changed', async () => {
      const request = { nested: { a: 1 } };
      const r = await run({ event: 'before_action', sources: { method: 'function before_action() { method_request.nested.a = 2; return true }' }, globals: { method_request: request } });
      assert.deepEqual(request, { nested: { a: 1 } });
      assert.deepEqual(r.globals.method_request, { nested: { a: 2 } });
      assert.notEqual(r.globals.method_request, request);
    });

    test('webhooks: before_webhook false answers with the script response; after_webhook false ignores', async () => {
      const dispatcher = new EventDispatcher(await runnerFor(engine), {
        isolationKey: freshKey(),
        sources: {
          method: `function before_webhook() {
            if (method_request_parameters.challenge) {
              method_response = { challenge: method_request_parameters.challenge };
              method_response_headers['X-Reply'] = 'yes';
              statusCode = 202;
              return false;
            }
            return true;
          }
          function after_webhook() {
            if (method_response.type === 'ping') return false;
            method_response = { wrapped: method_response };
            return true;
          }`,
        },
      });
      const challenge = await dispatcher.beforeWebhook({ endpoint: 'https://hooks/x', headers: {}, parameters: { challenge: 'c-1' }, body: null });
      assert.deepEqual(challenge.result, { kind: 'false', level: 'method' });
      assert.deepEqual(challenge.response, { status: 202, headers: { 'X-Reply': 'yes' }, body: { challenge: 'c-1' } });
      const normal = await dispatcher.beforeWebhook({ endpoint: 'https://hooks/x', headers: {}, parameters: {}, body: { a: 1 } });
      assert.deepEqual(normal.result, { kind: 'ok' });
      const ping = await dispatcher.afterWebhook({ type: 'ping' });
      assert.deepEqual(ping.result, { kind: 'false', level: 'method' });
      const data = await dispatcher.afterWebhook({ type: 'created' });
      assert.deepEqual(data.body, { wrapped: { type: 'created' } });
    });

    test('OAuth2 events reshape the token request and response', async () => {
      const dispatcher = new EventDispatcher(await runnerFor(engine), {
        isolationKey: freshKey(),
        sources: {
          connector: `
            function before_oauth2_authorise() { method_endpoint = method_endpoint + '&prompt=consent'; return true }
            function before_oauth2_token() {
              method_request_headers.Authorization = 'Basic ' + btoa(method_request.client_id + ':' + method_request.client_secret);
              delete method_request.client_secret;
              return true;
            }
            function after_oauth2_token() { method_response = { access_token: method_response.data.token, expires_in: 3600 }; return true }
            function before_oauth2_refresh() { method_request.scope = 'all'; return true }
            function after_oauth2_refresh() { method_response.refreshed = true; return true }`,
        },
        host: { secrets: ['s3cr3t-value'] },
      });
      const auth = await dispatcher.beforeOAuth2Authorise('https://id.example.com/authorize?client_id=x');
      assert.equal(auth.url, 'https://id.example.com/authorize?client_id=x&prompt=consent');
      const token = await dispatcher.beforeOAuth2Request('token', { headers: {}, body: { client_id: 'cid', client_secret: 's3cr3t-value', code: 'abc' } });
      assert.deepEqual(token.body, { client_id: 'cid', code: 'abc' });
      assert.equal(token.headers.Authorization, `Basic ${Buffer.from('cid:s3cr3t-value').toString('base64')}`);
      const got = await dispatcher.afterOAuth2Response('token', { data: { token: 'tok' } });
      assert.deepEqual(got.body, { access_token: 'tok', expires_in: 3600 });
      const refresh = await dispatcher.beforeOAuth2Request('refresh', { headers: {}, body: { grant_type: 'refresh_token' } });
      assert.deepEqual(refresh.body, { grant_type: 'refresh_token', scope: 'all' });
      const refreshed = await dispatcher.afterOAuth2Response('refresh', { access_token: 't2' });
      assert.deepEqual(refreshed.body, { access_token: 't2', refreshed: true });
    });

    test('method_request_mergefields and action_data carry from before_action to after_action (and paging)', async () => {
      const dispatcher = new EventDispatcher(await runnerFor(engine), {
        isolationKey: freshKey(),
        sources: {
          method: `
            function before_action() {
              action_data.pages = (action_data.pages || 0) + 1;
              method_request_mergefields.Started = method_request_mergefields.Started || 'page-' + action_data.pages;
              cycle_variables.lost = true; script_parameters.lost = true;
              return true;
            }
            function after_action() { method_response.carried = [method_request_mergefields.Started, action_data.pages, cycle_variables.lost === true, script_parameters.lost === true]; return true }
            function after_action_paging() { method_response = { total: method_response.length, pages: action_data.pages }; next_last_successful_run_date = '2024-05-01T00:00:00Z'; return true }`,
        },
        cycleVariables: { v: 1 },
        scriptParameters: { p: 1 },
      });
      const state = new ScriptCallState({ mergefields: { Id: '9' } });
      const req = { endpoint: 'https://api.example.com/x', headers: {}, parameters: {}, body: undefined };
      await dispatcher.beforeAction(req, state);
      const page1 = await dispatcher.afterAction(req, { status: 200, headers: {}, body: {} }, state);
      assert.deepEqual((page1.response.body as { carried: unknown }).carried, ['page-1', 1, false, false]);
      await dispatcher.beforeAction(req, state);
      const page2 = await dispatcher.afterAction(req, { status: 200, headers: {}, body: {} }, state);
      assert.deepEqual((page2.response.body as { carried: unknown }).carried, ['page-1', 2, false, false]);
      assert.deepEqual(state.mergefields, { Id: '9', Started: 'page-1' });
      const all = await dispatcher.afterActionPaging({ body: [1, 2, 3] }, state);
      assert.deepEqual(all.body, { total: 3, pages: 2 });
      assert.equal(all.nextLastSuccessfulRunDate, '2024-05-01T00:00:00Z');
      assert.deepEqual(ScriptCallState.fromJSON(state.toJSON()).toJSON(), { mergefields: { Id: '9', Started: 'page-1' }, actionData: { pages: 2 } });
    });

    test('after_error through the dispatcher: warnings and successes', async () => {
      const dispatcher = new EventDispatcher(await runnerFor(engine), {
        isolationKey: freshKey(),
        sources: { connector: 'function after_error() { if (method_error.statusCode === 404) { method_error.isError = false; method_error.isWarning = true } return true }' },
      });
      const warn = await dispatcher.afterError({ statusCode: 404, reasonPhrase: 'Not Found', content: '' }, new ScriptCallState());
      assert.deepEqual(warn.methodError, { statusCode: 404, reasonPhrase: 'Not Found', content: '', isError: false, isWarning: true, isSuccess: false });
      const other = await dispatcher.afterError({ statusCode: 500, reasonPhrase: 'Oops', content: 'x' }, new ScriptCallState());
      assert.equal(other.methodError.isError, true);
    });

    test('events nobody handles do not enter a sandbox', async () => {
      const dispatcher = new EventDispatcher(await runnerFor(engine), { isolationKey: freshKey(), sources: { method: 'function after_action() { return true }' } });
      assert.equal(dispatcher.handles('before_action'), false);
      assert.equal(dispatcher.handles('after_action'), true);
      const r = await dispatcher.beforeAction({ endpoint: 'https://x/y', headers: { a: 'b' }, parameters: {}, body: { z: 1 } }, new ScriptCallState());
      assert.deepEqual(r.request, { endpoint: 'https://x/y', headers: { a: 'b' }, parameters: {}, body: { z: 1 } });
      assert.equal(r.durationMs, 0);
    });

    test('a source that does not compile fails with SCRIPT_SYNTAX, its level, line and column', async () => {
      const r = await run({ event: 'after_action', sources: { connector: 'function after_action() { return true }', step: 'function after_action() {\n  return method_response +;\n}' }, globals: {} });
      assert.equal(r.result.kind, 'error');
      if (r.result.kind !== 'error') return;
      assert.equal(r.result.error.code, 'SCRIPT_SYNTAX', JSON.stringify(r.result));
      assert.equal(r.result.error.level, 'step');
      assert.equal(r.result.error.line, 2);
      assert.ok((r.result.error.column ?? 0) > 1);
    });

    test('a value that cannot be copied out as JSON is an error, not a crash', async () => {
      const r = await run({ event: 'after_action', sources: { method: 'function after_action() { var a = {}; a.self = a; method_response = a; return true }' }, globals: { method_response: {} } });
      assert.equal(r.result.kind, 'error');
      assert.ok(r.result.kind === 'error' && /copied out/.test(r.result.error.message));
      const fn = await run({ event: 'after_action', sources: { method: 'function after_action() { method_response = { keep: 1, f: function () {}, u: undefined }; return true }' }, globals: { method_response: {} } });
      assert.deepEqual(fn.globals.method_response, { keep: 1 });
    });
  });
}

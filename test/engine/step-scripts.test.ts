// Scripts in running cycles: connector-, method- and step-level action events on real requests to
// a local HTTP server, action_condition routing a method step true/false, a step script failing its
// step, and after_action_paging setting the trigger's LastSuccessfulRunDate.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

const KEY = 'secret-key-step-scripts'
const NEXT_RUN = '2031-02-03T04:05:06.000Z'

async function startCrm(): Promise<TestServer> {
  const contacts = [
    { id: 'c1', email: 'vip1@example.com' },
    { id: 'c2', email: 'plain2@example.com' },
    { id: 'c3', email: 'vip3@example.com' },
    { id: 'c4', email: 'vip-boom@example.com' },
  ]
  let made = 0
  return startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (req.headers['x-api-key'] !== KEY) {
      res.statusCode = 401
      return res.end('{"error":"bad key"}')
    }
    if (url.pathname === '/me') return res.end('{"id":"u1"}')
    if (url.pathname === '/contacts' && req.method === 'GET') return res.end(JSON.stringify({ data: contacts }))
    if (url.pathname === '/contacts' && req.method === 'POST') {
      const { email } = JSON.parse(body) as { email: string }
      res.statusCode = 201
      return res.end(JSON.stringify({ id: `n${++made}`, vip: email.startsWith('vip') }))
    }
    if (url.pathname === '/tags' && req.method === 'POST') return res.end(JSON.stringify({ tagged: JSON.parse(body).contact }))
    res.statusCode = 404
    res.end('{}')
  })
}

const order = (level: string) => `function before_action() {
  method_request_headers['X-Order'] = (method_request_headers['X-Order'] ? method_request_headers['X-Order'] + ',' : '') + '${level}';
  return true;
}`

const definition = (baseUrl: string) => ({
  baseUrl,
  script: order('connector'),
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' }, response: { fields: [{ location: 'id', field: 'UserId' }] } },
    {
      id: 'list-contacts',
      name: 'List Contacts',
      category: 'Contacts',
      type: 'action',
      http: { method: 'GET', path: '/contacts' },
      records: 'data',
      response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }] },
      script: `function after_action_paging() { next_last_successful_run_date = '${NEXT_RUN}'; return true; }`,
    },
    {
      id: 'create-contact',
      name: 'Create Contact',
      category: 'Contacts',
      type: 'action',
      http: { method: 'POST', path: '/contacts' },
      request: { format: 'json', fields: [{ location: 'email', field: 'Email' }] },
      response: { fields: [{ location: 'id', field: 'NewId' }, { location: 'vip', field: 'Vip', type: 'boolean' }] },
      script: `${order('method')}
function action_condition() { return method_response.vip === true; }`,
    },
    {
      id: 'tag-contact',
      name: 'Tag Contact',
      category: 'Contacts',
      type: 'action',
      http: { method: 'POST', path: '/tags' },
      request: { format: 'json', fields: [{ location: 'contact', field: 'Contact' }, { location: 'email', field: 'Email' }] },
      response: { fields: [{ location: 'tagged', field: 'Tagged' }] },
      script: order('method'),
    },
  ],
})

const TAG_RUN = '2032-03-04T05:06:07.000Z'
const stepScript = `${order('step')}
function after_action_paging() { next_last_successful_run_date = '${TAG_RUN}'; return true; }
function after_action() {
  if (method_request.email.indexOf('boom') >= 0) throw new Error('refusing ' + method_request.email);
  return true;
}
var original_before = before_action;
before_action = function () {
  original_before();
  method_request_headers['X-Ids'] = JSON.stringify({ step: cycle_step_id, cycle: cycle_id, tx: transaction_id, ctx: script_execution_context, account: external_account_id });
  method_request.tag_source = 'step-script';
  return true;
};`

for (const dialect of dialects()) {
  describe(`step scripts in a running cycle [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let crm: TestServer
    let cid: string
    let aid: string

    before(async () => {
      crm = await startCrm()
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true } })
      await t.services.engine.start({ concurrency: 2 })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', postInstallTestAuthMethod: 'get-me' }, definition: definition(crm.url) } })).json()
      const pushed = await t.call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { key, body: { kind: 'major' } })
      assert.equal(pushed.statusCode, 200, pushed.body)
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-7' } })).json().id
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: KEY } } })
      assert.equal(ac.statusCode, 201, ac.body)
      assert.equal(ac.json().authenticated, true)
    })
    after(async () => {
      await t.close()
      await crm.close()
    })

    test('action_condition routes the method step; the step script runs after the method and connector ones, with the cycle ids; after_action_paging sets LastSuccessfulRunDate', async () => {
      const tpl = await t.call('POST', '/v1/templates', {
        key,
        body: {
          name: 'VIP tagging',
          steps: [
            { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } },
            { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } }, routes: { onTrue: 'tag', onFalse: 'end' } },
            {
              key: 'tag',
              type: 'action',
              connector: { connectorId: cid, methodId: 'tag-contact' },
              fields: { Contact: { type: 'step', step: 'create', field: 'NewId' }, Email: { type: 'step', step: 'trigger', field: 'Email' } },
              script: stepScript,
            },
          ],
        },
      })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cycle = (await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })).json()
      const run = await t.call('POST', `/v1/accounts/${aid}/cycles/${cycle.id}/run`, { key })
      assert.ok(run.statusCode < 300, run.body)
      const items = await until('4 settled transactions', async () => {
        const list = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/transactions?limit=50`, { key })).json().items as Array<{ id: string; status: string; error: string | null }>
        return list.length === 4 && list.every((x) => ['succeeded', 'failed', 'stopped'].includes(x.status)) && list
      })

      // c2 is not a VIP: action_condition returned false and its transaction ended after "create".
      const tags = crm.requests.filter((r) => r.url === '/tags')
      assert.deepEqual(tags.map((r) => JSON.parse(r.body).email).sort(), ['vip-boom@example.com', 'vip1@example.com', 'vip3@example.com'])
      const creates = crm.requests.filter((r) => r.url === '/contacts' && r.method === 'POST')
      assert.equal(creates.length, 4)
      assert.ok(creates.every((r) => r.headers['x-order'] === 'method,connector'), 'no step script on "create": method → connector')
      // before_action order: method → connector → step; the step script sees the cycle's ids and changes the body.
      const steps = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).json().steps as Array<{ id: string; key: string; lastSuccessfulRunAt: string | null }>
      const tagStep = steps.find((s) => s.key === 'tag')!
      assert.equal(tagStep.lastSuccessfulRunAt, TAG_RUN, 'a step script set the LastSuccessfulRunDate of the action step')
      for (const r of tags) {
        assert.equal(r.headers['x-order'], 'method,connector,step')
        assert.equal(JSON.parse(r.body).tag_source, 'step-script')
        const ids = JSON.parse(String(r.headers['x-ids']))
        assert.equal(ids.step, tagStep.id)
        assert.equal(ids.cycle, cycle.id)
        assert.equal(ids.ctx, 'RUNNING_TRANSACTION')
        assert.equal(ids.account, 'globex-7')
        assert.ok(items.some((x) => x.id === ids.tx), 'transaction_id is the running transaction')
      }

      // The step script's throw failed the "boom" transaction with its message; the others succeeded.
      const failed = items.filter((x) => x.status === 'failed')
      assert.equal(failed.length, 1, JSON.stringify(items))
      assert.match(failed[0]!.error ?? '', /after_action script failed \(step level.*refusing vip-boom@example.com/)
      assert.equal(items.filter((x) => x.status === 'succeeded').length, 3)
      const detail = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/transactions/${items.find((x) => x.status === 'succeeded' && !JSON.stringify(x).includes('boom'))!.id}`, { key })).json()
      assert.ok(detail.steps.length >= 1)

      // The trigger's after_action_paging set next_last_successful_run_date (written when the firing
      // completes, which may be just after its transactions settled).
      const trigger = await until('the trigger run date', async () => {
        const now = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).json().steps as typeof steps
        const s = now.find((x) => x.key === 'trigger')!
        return s.lastSuccessfulRunAt ? s : undefined
      })
      assert.equal(trigger.lastSuccessfulRunAt, NEXT_RUN)
      assert.ok(!JSON.stringify(detail).includes(KEY))
    })
  })
}

// The run engine end to end: a real Plexus app, a real database, the durable queue, and a local
// HTTP server playing a CRM API (paged list, create, failures on demand).
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

interface Crm {
  server: TestServer
  created: Array<Record<string, unknown>>
  /** responses to give POST /contacts before succeeding (e.g. [500, 500]) */
  failures: number[]
  /** status for GET /me */
  meStatus: number
}

async function startCrm(records: number): Promise<Crm> {
  const contacts = Array.from({ length: records }, (_, i) => ({ id: `c${i + 1}`, email: i % 4 === 3 ? '' : `User${i + 1}@Example.com`, name: `User ${i + 1}` }))
  const crm: Crm = { server: undefined as never, created: [], failures: [], meStatus: 200 }
  crm.server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (req.headers['x-api-key'] !== 'secret-key-123') {
      res.statusCode = 401
      return res.end('{"error":"bad key"}')
    }
    if (url.pathname === '/me') {
      res.statusCode = crm.meStatus
      return res.end(JSON.stringify({ id: 'u1' }))
    }
    if (req.method === 'GET' && url.pathname === '/contacts') {
      const page = Number(url.searchParams.get('page'))
      const size = Number(url.searchParams.get('per_page'))
      return res.end(JSON.stringify({ data: contacts.slice((page - 1) * size, page * size) }))
    }
    if (req.method === 'POST' && url.pathname === '/contacts') {
      const fail = crm.failures.shift()
      if (fail) {
        res.statusCode = fail
        return res.end('{"error":"try later"}')
      }
      const item = JSON.parse(body)
      crm.created.push(item)
      res.statusCode = 201
      return res.end(JSON.stringify({ id: `n${crm.created.length}` }))
    }
    res.statusCode = 404
    res.end('{}')
  })
  return crm
}

const definition = (baseUrl: string) => ({
  baseUrl,
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' }, response: { fields: [{ location: 'id', field: 'UserId' }] } },
    {
      id: 'list-contacts',
      name: 'List Contacts',
      category: 'Contacts',
      type: 'action',
      http: { method: 'GET', path: '/contacts' },
      parameters: [
        { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
        { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
      ],
      records: 'data',
      response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }, { location: 'name', field: 'Name' }] },
    },
    {
      id: 'create-contact',
      name: 'Create Contact',
      category: 'Contacts',
      type: 'action',
      http: { method: 'POST', path: '/contacts' },
      request: { format: 'json', fields: [{ location: 'email', field: 'Email' }, { location: 'name', field: 'Name', optional: true }, { location: 'source', field: 'Source', optional: true }] },
      response: { fields: [{ location: 'id', field: 'NewId' }] },
    },
  ],
})

for (const dialect of dialects()) {
  describe(`run engine end to end [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let crm: Crm
    let cid: string
    let aid: string
    let acid: string

    before(async () => {
      crm = await startCrm(7)
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true }, services: { retryWaitsMs: [100, 200] } })
      await t.services.engine.start({ concurrency: 2 })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      const d = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { settings: { status: 'Approved', inboundPaging: true, inboundPageSize: 3, postInstallTestAuthMethod: 'get-me' }, definition: definition(crm.server.url) } })).json()
      const pushed = await t.call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { key, body: { kind: 'major' } })
      assert.equal(pushed.statusCode, 200, pushed.body)
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-1' } })).json().id
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: 'secret-key-123' } } })
      assert.equal(ac.statusCode, 201, ac.body)
      assert.equal(ac.json().authenticated, true)
      acid = ac.json().id
    })
    after(async () => {
      await t.close()
      await crm.server.close()
    })

    const newCycle = async (steps: unknown[], settings: object = {}) => {
      const tpl = await t.call('POST', '/v1/templates', { key, body: { name: 'Sync', settings, steps } })
      assert.equal(tpl.statusCode, 201, tpl.body)
      const cyc = await t.call('POST', `/v1/templates/${tpl.json().id}/install`, { key, body: { accountId: aid } })
      assert.equal(cyc.statusCode, 201, cyc.body)
      return cyc.json()
    }
    const trigger = () => ({ key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } })
    const create = (extra: object = {}) => ({ key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'script', value: '=fields.Name.toUpperCase()' }, Source: { type: 'template', value: 'plexus {{trigger.ContactId}} for {{ExternalAccountId}}' } }, ...extra })
    const transactions = async (cycle: { id: string }) => (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/transactions?limit=500`, { key })).json().items as Array<{ id: string; status: string; error: string | null }>
    /** What the engine holds for a cycle, for a timeout's message: its transactions and the queue's jobs. */
    const describeRun = async (cycle: { id: string }) => {
      const txs = await t.services.store.db.selectFrom('transactions').select(['id', 'status', 'next_step', 'step_attempts', 'error']).where('cycle_id', '=', cycle.id).execute()
      const jobs = await t.services.queue.listJobs({ limit: 500 })
      const runs = await t.services.store.db.selectFrom('step_runs').select(['transaction_id', 'step_key', 'status', 'attempt', 'error']).where('cycle_id', '=', cycle.id).execute()
      const cyc = await t.services.store.db.selectFrom('cycles').select(['status', 'status_reason']).where('id', '=', cycle.id).executeTakeFirst()
      const incidents = await t.services.store.db.selectFrom('incidents').select(['message', 'detail', 'transaction_id', 'at']).where('cycle_id', '=', cycle.id).execute()
      const posts = crm.server.requests.filter((r) => r.method === 'POST').length
      return JSON.stringify({ now: new Date().toISOString(), cycle: cyc, incidents, crmFailuresLeft: crm.failures, crmPosts: posts, schedules: await t.services.queue.listSchedules(), transactions: txs, jobs: jobs.map((j) => ({ id: j.id, task: j.task, payload: j.payload, state: j.state, runAt: j.runAt, attempts: j.attempts, key: j.key, lastError: j.lastError })), stepRuns: runs, stats: await t.services.queue.stats() }, null, 1)
    }
    const settled = async (cycle: { id: string }, n: number) => {
      try {
        return await until(`${n} settled transactions`, async () => {
          const items = await transactions(cycle)
          return items.length === n && items.every((x) => ['succeeded', 'failed', 'stopped'].includes(x.status)) && items
        })
      } catch (err) {
        throw new Error(`${(err as Error).message}: ${await describeRun(cycle)}`)
      }
    }

    test('a polling cycle pages through the records and makes one transaction per record', async () => {
      crm.created.length = 0
      const cycle = await newCycle([trigger(), { key: 'has-email', type: 'decision', decision: { left: { type: 'step', step: 'trigger', field: 'Email' }, operator: 'isNotEmpty' } }, create()])
      assert.equal(cycle.status, 'paused')
      assert.deepEqual(cycle.prerequisites, [])
      assert.equal(cycle.steps[0].accountConnectorId, acid, 'the account connector is reused')
      const act = await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/activate`, { key, body: { runOnce: true } })
      assert.equal(act.statusCode, 200, act.body)
      const items = await settled(cycle, 7)
      assert.ok(items.every((x) => x.status === 'succeeded'), JSON.stringify(items))
      // 7 records over 3 pages; record 4 has no email: the decision ends its transaction early
      assert.equal(crm.created.length, 6)
      assert.ok(!crm.created.some((c) => c.source === 'plexus c4 for globex-1'))
      assert.deepEqual(crm.created.find((c) => c.source === 'plexus c1 for globex-1'), { email: 'User1@Example.com', name: 'USER 1', source: 'plexus c1 for globex-1' }, 'static, step, script and template mappings')
      const pages = crm.server.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/contacts')).map((r) => new URL(r.url, 'http://x').searchParams.get('page'))
      assert.deepEqual(pages.slice(-3), ['1', '2', '3'])

      const detail = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}/transactions/${items[0].id}`, { key })).json()
      assert.deepEqual(detail.steps.map((s: { stepKey: string; status: string }) => [s.stepKey, s.status]), [['has-email', 'succeeded'], ['create', 'succeeded']])
      assert.equal(detail.outputs.create.NewId.startsWith('n'), true)
      assert.ok(!JSON.stringify(detail).includes('secret-key-123'), 'the API key never appears in step logs')
      const after = await until('run once to pause the cycle', async () => {
        const c = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).json()
        return c.status === 'paused' && c
      })
      assert.ok(after.steps[0].lastSuccessfulRunAt, 'the trigger records its last successful run')
    })

    test('a delay is a durable job, not a sleep', async () => {
      crm.created.length = 0
      const cycle = await newCycle([trigger(), { key: 'wait', type: 'delay', delay: { amount: 1, unit: 'seconds' } }, create()])
      const started = Date.now()
      await t.call('POST', `/v1/accounts/${aid}/cycles/${cycle.id}/run`, { key })
      // Not a snapshot of 'waiting' transactions (a busy machine may poll past the 1 s window):
      // the step logs show that every transaction waited, and that its next step ran ≥ 1 s later.
      const items = await settled(cycle, 7)
      assert.ok(items.every((x) => x.status === 'succeeded'), JSON.stringify(items))
      assert.ok(Date.now() - started >= 1000, 'the delay held the transactions back')
      assert.equal(crm.created.length, 7)
      const runs = await t.services.store.db.selectFrom('step_runs').select(['transaction_id', 'step_key', 'status', 'started_at']).where('cycle_id', '=', cycle.id).execute()
      for (const x of items) {
        const wait = runs.find((r) => r.transaction_id === x.id && r.step_key === 'wait')
        const create = runs.find((r) => r.transaction_id === x.id && r.step_key === 'create')
        assert.ok(wait && create, JSON.stringify(runs))
        assert.equal(wait.status, 'succeeded')
        assert.ok(Date.parse(create.started_at) - Date.parse(wait.started_at) >= 1000, `the create step ran 1 s after the wait: ${JSON.stringify([wait, create])}`)
      }
    })

    test('retry after a wait: a step that fails then succeeds', async () => {
      crm.created.length = 0
      crm.failures = [500, 503]
      const cycle = await newCycle([trigger(), create({ onError: { action: 'retry', retries: 3 } })])
      await t.call('POST', `/v1/accounts/${aid}/cycles/${cycle.id}/run`, { key })
      const items = await settled(cycle, 7)
      assert.ok(items.every((x) => x.status === 'succeeded'), JSON.stringify(items))
      assert.equal(crm.created.length, 7)
      const attempts = await t.services.store.db.selectFrom('step_runs').select(['status', 'attempt']).where('cycle_id', '=', cycle.id).execute()
      assert.equal(attempts.filter((a) => a.status === 'failed').length, 2, 'two failed attempts were logged')
    })

    test('error actions: ignore continues, stopTransaction fails the transaction, stopCycle pauses the cycle with an incident', async () => {
      crm.created.length = 0
      crm.failures = Array(7).fill(400)
      const ignoring = await newCycle([trigger(), create({ onError: { action: 'ignore' } })])
      await t.call('POST', `/v1/accounts/${aid}/cycles/${ignoring.id}/run`, { key })
      assert.ok((await settled(ignoring, 7)).every((x) => x.status === 'succeeded'))
      assert.equal(crm.created.length, 0)

      crm.failures = Array(7).fill(400)
      const stopping = await newCycle([trigger(), create()])
      await t.call('POST', `/v1/accounts/${aid}/cycles/${stopping.id}/run`, { key })
      const failed = await settled(stopping, 7)
      assert.ok(failed.every((x) => x.status === 'failed' && /create/.test(x.error ?? '')), JSON.stringify(failed))
      const incidents = (await t.call('GET', `/v1/accounts/${aid}/cycles/${stopping.id}/incidents`, { key })).json().items
      assert.equal(incidents.length, 7)
      assert.equal(incidents[0].message, 'Failed to call the method')

      crm.failures = [400]
      const halting = await newCycle([trigger(), create({ onError: { action: 'stopCycle' } })])
      await t.call('PUT', `/v1/accounts/${aid}/cycles/${halting.id}/activate`, { key, body: { interval: 60 } })
      await until('the cycle to stop', async () => (await t.call('GET', `/v1/accounts/${aid}/cycles/${halting.id}`, { key })).json().status === 'error').catch(async (err) => {
        throw new Error(`${err.message}: ${await describeRun(halting)}`)
      })
      const stopped = (await t.call('GET', `/v1/accounts/${aid}/cycles/${halting.id}`, { key })).json()
      assert.match(stopped.statusReason, /step "create" failed/)
      const haltIncidents = (await t.call('GET', `/v1/accounts/${aid}/cycles/${halting.id}/incidents`, { key })).json().items
      assert.ok(haltIncidents.some((i: { message: string }) => i.message === 'The cycle was stopped by a step error'))
      crm.failures = []
    })

    test('activation is refused while prerequisites remain; deauthenticating pauses active cycles', async () => {
      const cycle = await newCycle([trigger(), create()])
      const bad = await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/activate`, { key, body: { interval: 7 } })
      assert.equal(bad.statusCode, 400)
      assert.match(bad.json().error.message, /interval must be one of 1, 5, 15/)
      const ok = await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/activate`, { key, body: { interval: 1440, startTime: new Date(Date.now() + 3_600_000).toISOString() } })
      assert.equal(ok.json().status, 'active')
      assert.equal(ok.json().intervalMinutes, 1440)

      const deauth = await t.call('POST', `/v1/accounts/${aid}/connectors/${acid}/deauthenticate`, { key })
      assert.equal(deauth.statusCode, 200)
      const paused = (await t.call('GET', `/v1/accounts/${aid}/cycles/${cycle.id}`, { key })).json()
      assert.equal(paused.status, 'paused')
      assert.match(paused.statusReason, /deauthenticated/)
      assert.deepEqual(paused.prerequisites.map((p: { reason: string; reasonCode: number }) => [p.reason, p.reasonCode]), [['CONNECTOR_UNAUTHENTICATED', 20], ['CONNECTOR_UNAUTHENTICATED', 20]])
      const refused = await t.call('PUT', `/v1/accounts/${aid}/cycles/${cycle.id}/activate`, { key, body: { interval: 60 } })
      assert.equal(refused.statusCode, 409)
      assert.equal(refused.json().error.code, 'PREREQUISITES_UNMET')
      assert.equal(refused.json().error.details[0].reasonCode, 20)
      const back = await t.call('PUT', `/v1/accounts/${aid}/connectors/${acid}/auth`, { key, body: { auth: { ApiKey: 'secret-key-123' } } })
      assert.equal(back.json().authenticated, true)
    })

    test('user-configurable values are prerequisites until set', async () => {
      const cycle = await newCycle([trigger(), { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, userConfigurable: ['Email'] }])
      assert.deepEqual(cycle.prerequisites.map((p: { reason: string }) => p.reason), ['MISSING_FIELD_VALUE'])
      const bad = await t.call('PATCH', `/v1/accounts/${aid}/cycles/${cycle.id}/steps/create`, { key, body: { values: { Name: 'x' } } })
      assert.equal(bad.statusCode, 400)
      const set = await t.call('PATCH', `/v1/accounts/${aid}/cycles/${cycle.id}/steps/create`, { key, body: { values: { Email: 'fixed@example.com' } } })
      assert.deepEqual(set.json().prerequisites, [])
    })

    test("another partner's cycles are 404s", async () => {
      const cycle = await newCycle([trigger(), create()])
      const other = await t.newPartner('Other')
      for (const [m, url] of [['GET', ''], ['PUT', '/activate'], ['POST', '/run'], ['GET', '/transactions'], ['DELETE', '']] as const) {
        const res = await t.call(m, `/v1/accounts/${aid}/cycles/${cycle.id}${url}`, { key: other.apiKey, body: m === 'PUT' ? { interval: 5 } : undefined })
        assert.equal(res.statusCode, 404, `${m} ${url}`)
      }
    })

    test('GET /metrics reports transactions, step latency, HTTP calls and queue depth', async () => {
      const res = await t.call('GET', '/metrics')
      assert.equal(res.statusCode, 200)
      assert.match(res.body, /plexus_transactions_total\{event="succeeded"\} \d+/)
      assert.match(res.body, /plexus_step_duration_seconds_bucket/)
      assert.match(res.body, /plexus_http_calls_total\{status="201"\} \d+/)
      assert.match(res.body, /plexus_queue_jobs\{state="queued"\} \d+/)
    })
  })
}

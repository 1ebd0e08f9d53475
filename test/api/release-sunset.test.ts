// Deprecation sunset (issue 8 §6): a deprecated release gets a sunset date; listings show who is
// still on it and warn as the date nears; after it new installs are refused, running cycles stay.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { TestClock } from '../helpers/account-apis.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

const DAY = 24 * 60 * 60 * 1000
/** No post-install test-auth: installs need no API. */
const settings = () => ({ ...crmSettings(), postInstallTestAuthMethod: undefined })
const acBody = (connectorId: string) => ({ connectorId, auth: { ApiKey: 'k-123' }, properties: { Subdomain: 'acme' } })

for (const dialect of dialects()) {
  describe(`release sunset [${dialect}]`, () => {
    let t: TestApp
    let key: string
    const clock = new TestClock(Date.parse('2026-06-01T00:00:00.000Z'))
    let cid: string
    let aid: string
    let v1: { id: string; version: string }
    let v2: { id: string; version: string }
    let tid: string
    let yid: string
    let acid: string

    const push = async (body: object, kind: 'major' | 'minor') => {
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body })
      assert.equal(d.statusCode, 201, d.body)
      const p = await t.call('POST', `/v1/connectors/${cid}/releases/${d.json().id}/push`, { key, body: { kind } })
      assert.equal(p.statusCode, 200, p.body)
      return p.json() as { id: string; version: string }
    }
    const templateBody = (releaseId?: string) => ({
      name: 'Contacts to CRM',
      steps: [
        { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts', ...(releaseId ? { releaseId } : {}) } },
        { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact', ...(releaseId ? { releaseId } : {}) }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } } },
      ],
    })
    const sunset = (rid: string, sunsetAt: unknown, k = key) => t.call('PUT', `/v1/connectors/${cid}/releases/${rid}/sunset`, { key: k, body: { sunsetAt } })
    const listed = async (query = '') => {
      const res = await t.call('GET', `/v1/connectors/${cid}/releases${query}`, { key })
      assert.equal(res.statusCode, 200, res.body)
      return res.json().items as Array<{ id: string; state: string; sunsetAt: string | null; sunsetWarning: string | null; usage?: Record<string, number> }>
    }

    before(async () => {
      t = await startTestApp(dialect, { clock })
      key = (await t.newPartner()).apiKey
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'CRM' } })).json().id
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Globex', externalId: 'globex-1' } })).json().id
      const def = crmDefinition()
      def.methods.push(createContactMethod() as never)
      v1 = await push({ settings: settings(), definition: def }, 'major')
      // on 1.0: an account connector, a template and the cycle installed from it
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: acBody(cid) })
      assert.equal(ac.statusCode, 201, ac.body)
      acid = ac.json().id
      const tpl = await t.call('POST', '/v1/templates', { key, body: templateBody() })
      assert.equal(tpl.statusCode, 201, tpl.body)
      tid = tpl.json().id
      const cyc = await t.call('POST', `/v1/templates/${tid}/install`, { key, body: { accountId: aid } })
      assert.equal(cyc.statusCode, 201, cyc.body)
      yid = cyc.json().id
      v2 = await push({ from: 'live', settings: { ...settings(), comments: 'v2' } }, 'major')
    })
    after(() => t.close())

    test('only a deprecated release takes a sunset date (409 otherwise)', async () => {
      const live = await sunset(v2.id, '2027-01-01')
      assert.equal(live.statusCode, 409, live.body)
      assert.equal(live.json().error.code, 'RELEASE_NOT_DEPRECATED')
      const draft = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: { from: 'live' } })
      assert.equal(draft.statusCode, 201, draft.body)
      const onDraft = await sunset(draft.json().id, '2027-01-01')
      assert.equal(onDraft.statusCode, 409, onDraft.body)
      assert.equal(onDraft.json().error.code, 'RELEASE_NOT_DEPRECATED')
      const clearLive = await sunset(v2.id, null)
      assert.equal(clearLive.statusCode, 409, clearLive.body)
      assert.equal((await t.call('DELETE', `/v1/connectors/${cid}/releases/${draft.json().id}`, { key })).statusCode, 204)
    })

    test('the date must be a valid ISO 8601 date in the future (400 naming sunsetAt)', async () => {
      for (const bad of ['2026-05-31', clock.now().toISOString(), 'next tuesday', '2027-13-01', '2027-01-01T10:00:00']) {
        const res = await sunset(v1.id, bad)
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`)
        const { error } = res.json()
        assert.equal(error.code, 'BAD_REQUEST')
        assert.match(error.message, /sunsetAt/)
        assert.deepEqual(error.details.map((d: { path: string }) => d.path), ['body.sunsetAt'])
      }
      const missing = await t.call('PUT', `/v1/connectors/${cid}/releases/${v1.id}/sunset`, { key, body: {} })
      assert.equal(missing.statusCode, 400, missing.body)
      assert.match(missing.body, /sunsetAt/)
      assert.equal((await listed()).find((r) => r.id === v1.id)!.sunsetAt, null, 'nothing was stored')
    })

    test('listings carry the date and warn once it is 30 days away or closer; usage counts who is still on it', async () => {
      const at = new Date(clock.now().getTime() + 60 * DAY).toISOString()
      const res = await sunset(v1.id, at.slice(0, 10))
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.json().sunsetAt, at, 'a date is midnight UTC, stored normalised')
      assert.equal(res.json().sunsetWarning, null, '60 days away: no warning yet')
      assert.equal(res.json().state, 'deprecated')

      let items = await listed()
      assert.equal(items.find((r) => r.id === v1.id)!.sunsetAt, at)
      assert.equal(items.find((r) => r.id === v2.id)!.sunsetAt, null)
      assert.ok(items.every((r) => r.usage === undefined), 'usage only when asked for')

      clock.advance(31 * DAY)
      items = await listed('?usage=true')
      const old = items.find((r) => r.id === v1.id)!
      assert.match(old.sunsetWarning ?? '', /^release 1\.0 sunsets in 29 days/)
      assert.deepEqual(old.usage, { accounts: 1, accountConnectors: 1, cycles: 1, cycleSteps: 2, templates: 1, templateSteps: 2 })
      assert.deepEqual(items.find((r) => r.id === v2.id)!.usage, { accounts: 0, accountConnectors: 0, cycles: 0, cycleSteps: 0, templates: 0, templateSteps: 0 })
      const one = await t.call('GET', `/v1/connectors/${cid}/releases/${v1.id}`, { key })
      assert.equal(one.json().sunsetWarning, old.sunsetWarning)

      const usage = await t.call('GET', `/v1/connectors/${cid}/releases/${v1.id}/usage`, { key })
      assert.equal(usage.statusCode, 200, usage.body)
      const u = usage.json()
      assert.deepEqual(u.release, { id: v1.id, connectorId: cid, state: 'deprecated', version: '1.0' })
      assert.deepEqual(u.sunset, { sunsetAt: at, daysLeft: 29, passed: false, warning: old.sunsetWarning })
      assert.deepEqual(u.accounts, [{ accountId: aid, name: 'Globex', externalId: 'globex-1', accountConnectors: 1, cycles: 1, cycleSteps: 2 }])
      assert.deepEqual(u.cycles, [{ id: yid, accountId: aid, name: 'Contacts to CRM', status: 'paused', steps: 2 }])
      assert.equal(u.summary.templateSteps, 2)

      const history = (await t.call('GET', `/v1/connectors/${cid}/history`, { key })).json().items as Array<{ event: string; releaseId: string; details: { sunsetAt: string } }>
      assert.ok(history.some((h) => h.event === 'sunset_set' && h.releaseId === v1.id && h.details.sunsetAt === at))
    })

    test('after the date new installs pinned to the release are refused; existing cycles stay; upgrading moves off it', async () => {
      clock.advance(30 * DAY) // past the date set above
      const old = (await listed()).find((r) => r.id === v1.id)!
      assert.match(old.sunsetWarning ?? '', /reached its sunset .* new installs pinned to it are refused/)

      const refused = await t.call('POST', `/v1/templates/${tid}/install`, { key, body: { accountId: aid } })
      assert.equal(refused.statusCode, 409, refused.body)
      const { error } = refused.json()
      assert.equal(error.code, 'RELEASE_SUNSET')
      assert.match(error.message, /installing template .* 1\.0 of connector/)
      assert.deepEqual(error.details.releases.map((r: { releaseId: string; version: string }) => [r.releaseId, r.version]), [[v1.id, '1.0']])

      // a new template explicitly pinned to the sunset release can be saved, but not installed
      const pinned = await t.call('POST', '/v1/templates', { key, body: templateBody(v1.id) })
      assert.equal(pinned.statusCode, 201, pinned.body)
      assert.equal((await t.call('POST', `/v1/templates/${pinned.json().id}/install`, { key, body: { accountId: aid } })).json().error.code, 'RELEASE_SUNSET')

      // account connectors always install onto the live release, which never has a sunset date
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: acBody(cid) })
      assert.equal(ac.statusCode, 201, ac.body)
      assert.equal(ac.json().releaseId, v2.id)

      // the existing cycle and account connector are untouched: still there, still pinned to 1.0
      const cycle = await t.call('GET', `/v1/accounts/${aid}/cycles/${yid}`, { key })
      assert.equal(cycle.statusCode, 200, cycle.body)
      assert.ok(cycle.json().steps.every((s: { connector: { releaseId: string } }) => s.connector.releaseId === v1.id))
      assert.equal((await t.call('GET', `/v1/accounts/${aid}/connectors/${acid}`, { key })).json().releaseId, v1.id)

      // upgrades are how things move off it: the template then installs, the cycle leaves the usage list
      const up = await t.call('POST', `/v1/templates/${tid}/upgrade`, { key, body: {} })
      assert.equal(up.statusCode, 200, up.body)
      const installed = await t.call('POST', `/v1/templates/${tid}/install`, { key, body: { accountId: aid } })
      assert.equal(installed.statusCode, 201, installed.body)
      const cup = await t.call('POST', `/v1/accounts/${aid}/cycles/${yid}/upgrade`, { key, body: {} })
      assert.equal(cup.statusCode, 200, cup.body)
      const usage = (await t.call('GET', `/v1/connectors/${cid}/releases/${v1.id}/usage`, { key })).json()
      assert.deepEqual(usage.cycles, [])
      assert.deepEqual(usage.summary, { accounts: 1, accountConnectors: 1, cycles: 0, cycleSteps: 0, templates: 1, templateSteps: 2 })
      assert.equal(usage.sunset.passed, true)
      assert.equal(usage.sunset.daysLeft, 0)
    })

    test('clearing the date (null) lifts the refusal; a new date must again be in the future', async () => {
      const cleared = await sunset(v1.id, null)
      assert.equal(cleared.statusCode, 200, cleared.body)
      assert.equal(cleared.json().sunsetAt, null)
      assert.equal(cleared.json().sunsetWarning, null)
      const pinned = await t.call('POST', '/v1/templates', { key, body: templateBody(v1.id) })
      assert.equal((await t.call('POST', `/v1/templates/${pinned.json().id}/install`, { key, body: { accountId: aid } })).statusCode, 201)
      const history = (await t.call('GET', `/v1/connectors/${cid}/history`, { key })).json().items as Array<{ event: string }>
      assert.ok(history.some((h) => h.event === 'sunset_cleared'))
    })

    test("another partner's release is not found (404), and its usage never counts this partner's rows", async () => {
      const other = (await t.newPartner('Other')).apiKey
      for (const res of [
        await sunset(v1.id, '2030-01-01', other),
        await t.call('GET', `/v1/connectors/${cid}/releases/${v1.id}/usage`, { key: other }),
        await t.call('GET', `/v1/connectors/${cid}/releases?usage=true`, { key: other }),
      ]) {
        assert.equal(res.statusCode, 404, res.body)
        assert.equal(res.json().error.code, 'NOT_FOUND')
      }
      // the other partner's own connector with the same shape shows none of our usage
      const ocid = (await t.call('POST', '/v1/connectors', { key: other, body: { name: 'CRM' } })).json().id
      const d = await t.call('POST', `/v1/connectors/${ocid}/releases`, { key: other, body: { settings: crmSettings(), definition: crmDefinition() } })
      const live = await t.call('POST', `/v1/connectors/${ocid}/releases/${d.json().id}/push`, { key: other, body: { kind: 'major' } })
      const u = (await t.call('GET', `/v1/connectors/${ocid}/releases/${live.json().id}/usage`, { key: other })).json()
      assert.deepEqual(u.summary, { accounts: 0, accountConnectors: 0, cycles: 0, cycleSteps: 0, templates: 0, templateSteps: 0 })
      // and our sunset date is unchanged by the refused attempt
      assert.equal((await listed()).find((r) => r.id === v1.id)!.sunsetAt, null)
    })
  })
}

/** A connector on a local API: lists one contact, creates contacts at POST /contacts. */
const localDefinition = (baseUrl: string) => ({
  baseUrl,
  authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
  methods: [
    { id: 'list-contacts', name: 'List Contacts', category: 'Contacts', type: 'action', http: { method: 'GET', path: '/contacts' }, records: 'data', response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }] } },
    { id: 'create-contact', name: 'Create Contact', category: 'Contacts', type: 'action', http: { method: 'POST', path: '/contacts' }, request: { format: 'json', fields: [{ location: 'email', field: 'Email' }] }, response: { fields: [{ location: 'id', field: 'NewId' }] } },
  ],
})

for (const dialect of dialects()) {
  describe(`an active cycle on a release past its sunset keeps running [${dialect}]`, () => {
    let t: TestApp
    let api: TestServer
    let posts = 0
    const clock = new TestClock(Date.parse('2026-06-01T00:00:00.000Z'))

    before(async () => {
      api = await startServer((req, res) => {
        res.setHeader('content-type', 'application/json')
        if (req.method === 'GET') return res.end(JSON.stringify({ data: [{ id: 'c1', email: 'ann@example.com' }] }))
        posts++
        res.statusCode = 201
        res.end(JSON.stringify({ id: `n${posts}` }))
      })
      t = await startTestApp(dialect, { clock, config: { allowPrivateNetwork: true } })
      await t.services.engine.start({ concurrency: 1 })
    })
    after(async () => {
      await t.close()
      await api.close()
    })

    test('it runs after the date, on the old release, until it is upgraded', async () => {
      const key = (await t.newPartner()).apiKey
      const call = async (method: string, url: string, body?: unknown) => {
        const res = await t.call(method, url, { key, body })
        assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`)
        return res.json()
      }
      const cid = (await call('POST', '/v1/connectors', { name: 'Local CRM' })).id
      const push = async () => {
        const d = await call('POST', `/v1/connectors/${cid}/releases`, { settings: { status: 'Approved' }, definition: localDefinition(api.url) })
        return (await call('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { kind: 'major' })).id as string
      }
      const v1 = await push()
      const aid = (await call('POST', '/v1/accounts', { name: 'Initech', externalId: 'initech-1' })).id
      await call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: cid, auth: { ApiKey: 'k' } })
      const tpl = await call('POST', '/v1/templates', { name: 'Sync', steps: [{ key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } }, { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } } }] })
      const yid = (await call('POST', `/v1/templates/${tpl.id}/install`, { accountId: aid })).id
      await call('PUT', `/v1/accounts/${aid}/cycles/${yid}/activate`, { interval: 60 })
      const transactions = async () => (await call('GET', `/v1/accounts/${aid}/cycles/${yid}/transactions?limit=50`)).items as Array<{ status: string }>
      await until('the first transaction', async () => (await transactions()).some((x) => x.status === 'succeeded'))

      await push() // 2.0: 1.0 is deprecated
      await call('PUT', `/v1/connectors/${cid}/releases/${v1}/sunset`, { sunsetAt: '2026-06-15' })
      clock.advance(20 * DAY)
      assert.equal((await t.call('POST', `/v1/templates/${tpl.id}/install`, { key, body: { accountId: aid } })).json().error.code, 'RELEASE_SUNSET')

      const before = posts
      const done = (await transactions()).length
      await call('POST', `/v1/accounts/${aid}/cycles/${yid}/run`)
      await until('a transaction after the sunset', async () => {
        const items = await transactions()
        return items.length > done && items.every((x) => x.status === 'succeeded') && items
      })
      assert.ok(posts > before, 'the step called the API after the sunset')
      const cycle = await call('GET', `/v1/accounts/${aid}/cycles/${yid}`)
      assert.equal(cycle.status, 'active')
      assert.ok(cycle.steps.every((s: { release: { id: string } }) => s.release.id === v1), 'still on the sunset release')
    })
  })
}

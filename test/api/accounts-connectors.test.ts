import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import { redactPaths } from '../../src/shared/logging.js'
import { PROJECTS, saasApi, type SaasApi } from '../helpers/account-apis.js'
import { saasRelease } from '../helpers/account-definitions.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'

const API_KEY = 'sk_live_4f1c2a9e7b3d5f60a8c1'
const OTHER_KEY = 'sk_live_99aa88bb77cc66dd55ee'
const USER = 'ada@example.com'
const PASSWORD = 'correct-horse-battery-staple'
const SID = 'AC1234567890'
const AUTH_TOKEN = 'tok_7d9e1f3a5b7c9d1e3f5a'

/** Good credentials: the API key, basic user/password, or the SID + token auth fields. */
const accepts = (req: { headers: Record<string, string | string[] | undefined> }) =>
  req.headers['x-api-key'] === API_KEY ||
  req.headers['x-api-key'] === OTHER_KEY ||
  req.headers.authorization === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` ||
  (req.headers['x-account-sid'] === SID && req.headers['x-auth-token'] === AUTH_TOKEN)

for (const dialect of dialects()) {
  describe(`account connectors [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let api: SaasApi
    let cid: string
    const logs: string[] = []
    /** Every response body seen by the tests: none may contain a credential. */
    const bodies: string[] = []

    const call = async (method: string, url: string, body?: unknown, k = key): Promise<LightMyRequestResponse> => {
      const res = await t.call(method, url, { key: k, body })
      bodies.push(res.body)
      return res
    }

    /** A connector with `doc` pushed live as 1.0. */
    const liveConnector = async (doc: object, name = 'SaaS', k = key): Promise<string> => {
      const c = (await call('POST', '/v1/connectors', { name }, k)).json().id as string
      const d = await call('POST', `/v1/connectors/${c}/releases`, doc, k)
      assert.equal(d.statusCode, 201, d.body)
      const p = await call('POST', `/v1/connectors/${c}/releases/${d.json().id}/push`, { kind: 'major' }, k)
      assert.equal(p.statusCode, 200, p.body)
      return c
    }
    const newAccount = async (name = 'Globex', k = key) => (await call('POST', '/v1/accounts', { name }, k)).json().id as string
    const install = (aid: string, body: object, k = key) => call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: cid, ...body }, k)

    before(async () => {
      t = await startTestApp(dialect, {
        config: { allowPrivateNetwork: true },
        logger: { level: 'debug', redact: redactPaths, stream: { write: (line: string) => void logs.push(line) } },
      })
      key = (await t.newPartner()).apiKey
      api = await saasApi((req) => accepts(req))
      // The API echoes a rejected key in its error body: Plexus must redact it.
      cid = await liveConnector(saasRelease())
    })
    after(async () => {
      await api.close()
      await t.close()
    })

    test('API key install: test-auth passes, the property lookup sets properties, a paged call uses them', async () => {
      const aid = await newAccount()
      const res = await install(aid, { auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })
      assert.equal(res.statusCode, 201, res.body)
      const ac = res.json()
      assert.match(ac.id, /^acn_/)
      assert.equal(ac.authenticated, true)
      assert.equal(ac.authId, 'key')
      assert.equal(ac.authType, 'apiKey')
      assert.equal(ac.authError, null)
      assert.ok(ac.authenticatedAt)
      assert.deepEqual(ac.auth, { ApiKey: `****${API_KEY.slice(-4)}` }, 'a masked hint, never the key')
      assert.deepEqual(ac.postInstall.testAuth, { method: 'get-me', ok: true, status: 200 })
      assert.equal(ac.postInstall.propertyLookup.ok, true)
      assert.deepEqual(ac.postInstall.propertyLookup.set.sort(), ['SessionToken', 'TenantId'])
      assert.equal(ac.properties.TenantId, 'tenant-42', 'from a response field named like the property')
      assert.equal(ac.properties.SessionToken, `****${api.sessionToken.slice(-4)}`, 'from postInstallPropertyMappings; sensitive, so masked')
      assert.equal(ac.properties.ApiBase, api.url)
      assert.equal(ac.properties.Region, undefined, 'only account properties are set')
      const me = api.requests.find((r) => r.url === '/me')!
      assert.equal(me.headers['x-api-key'], API_KEY, 'the real key went to the API')

      // Data on demand, one upstream page per call, continued with the cursor.
      const seen: string[] = []
      let cursor: string | undefined
      let calls = 0
      do {
        const page = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/methods/list-contacts/call`, cursor ? { cursor } : {})
        assert.equal(page.statusCode, 200, page.body)
        const body = page.json()
        assert.equal(body.ok, true, page.body)
        assert.equal(body.pages, 1)
        seen.push(...body.records.map((r: { ContactId: string }) => r.ContactId))
        cursor = body.nextCursor ?? undefined
        calls++
      } while (cursor && calls < 10)
      assert.deepEqual(seen, ['c1', 'c2', 'c3', 'c4', 'c5'])
      const contactCalls = api.requests.filter((r) => r.url.startsWith('/contacts'))
      assert.ok(contactCalls.every((r) => r.headers['x-session'] === api.sessionToken && r.headers['x-tenant'] === 'tenant-42'), 'looked-up properties are sent')

      const all = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/methods/list-contacts/call`, { pages: 10 })
      assert.equal(all.json().records.length, 5)
      assert.equal(all.json().pages, 3)
      assert.equal(all.json().nextCursor, null)
      assert.ok(all.json().requests.length >= 3)
      assert.ok(all.json().requests.every((r: { url: string; status: number }) => r.status === 200 && r.url.startsWith(api.url)))

      const forged = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/methods/list-contacts/call`, { cursor: 'v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
      assert.equal(forged.statusCode, 400, 'a cursor cannot be made up')
      const unknown = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/methods/nope/call`, {})
      assert.equal(unknown.statusCode, 404)

      // At rest: sealed, and the hints are what the list shows.
      const row = await t.services.store.db.selectFrom('account_connectors').selectAll().where('id', '=', ac.id).executeTakeFirstOrThrow()
      assert.match(row.auth_values!, /^v1\.[A-Za-z0-9_-]+$/)
      assert.match(row.secret_properties!, /^v1\./)
      assert.ok(!JSON.stringify(row).includes(API_KEY) && !JSON.stringify(row).includes(api.sessionToken))
      const listed = await call('GET', `/v1/accounts/${aid}/connectors`)
      assert.deepEqual(listed.json().items.map((i: { id: string }) => i.id), [ac.id])
      const shown = await call('GET', `/v1/accounts/${aid}/connectors/${ac.id}`)
      assert.deepEqual(shown.json().auth, ac.auth)
    })

    test('a wrong key: unauthenticated with the API status and message, credentials kept; auth, test-auth and deauthenticate', async () => {
      const aid = await newAccount()
      const bad = 'sk_live_wrong_0000111122223333'
      const res = await install(aid, { auth: { ApiKey: bad }, properties: { ApiBase: api.url } })
      assert.equal(res.statusCode, 201, res.body)
      const ac = res.json()
      assert.equal(ac.authenticated, false)
      assert.equal(ac.authError.stage, 'testAuth')
      assert.equal(ac.authError.status, 401)
      assert.match(ac.authError.message, /401/)
      assert.match(ac.authError.message, /invalid credentials/)
      assert.equal(ac.postInstall.testAuth.ok, false)
      assert.equal(ac.postInstall.propertyLookup, undefined, 'the lookup runs only after a successful test')
      assert.deepEqual(ac.auth, { ApiKey: `****${bad.slice(-4)}` }, 'the credentials are kept for correction')

      const refused = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/methods/list-contacts/call`, {})
      assert.equal(refused.statusCode, 409)
      assert.equal(refused.json().error.code, 'NOT_AUTHENTICATED')
      assert.match(refused.json().error.details.reason, /invalid credentials/)
      assert.equal((await call('GET', `/v1/accounts/${aid}/connectors/${ac.id}/lookups/projects`)).statusCode, 409)

      const retest = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/test-auth`)
      assert.equal(retest.statusCode, 200)
      assert.equal(retest.json().authenticated, false)

      const fixed = await call('PUT', `/v1/accounts/${aid}/connectors/${ac.id}/auth`, { auth: { ApiKey: API_KEY } })
      assert.equal(fixed.statusCode, 200, fixed.body)
      assert.equal(fixed.json().authenticated, true)
      assert.equal(fixed.json().authError, null)
      assert.equal(fixed.json().properties.TenantId, 'tenant-42', 'PUT auth re-runs the property lookup')
      assert.equal(fixed.json().properties.ApiBase, api.url, 'properties are kept')

      const tested = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/test-auth`)
      assert.equal(tested.json().authenticated, true)
      assert.equal(tested.json().postInstall.testAuth.ok, true)

      const deauth = await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/deauthenticate`)
      assert.equal(deauth.statusCode, 200)
      assert.equal(deauth.json().authenticated, false)
      assert.deepEqual(deauth.json().auth, {})
      const row = await t.services.store.db.selectFrom('account_connectors').select('auth_values').where('id', '=', ac.id).executeTakeFirstOrThrow()
      assert.equal(row.auth_values, null, 'the credentials are gone')
      assert.equal((await call('POST', `/v1/accounts/${aid}/connectors/${ac.id}/methods/list-contacts/call`, {})).statusCode, 409)
    })

    test('basic and authFields installs: test-auth success and failure', async () => {
      const aid = await newAccount()
      const basic = await install(aid, { authId: 'basic', auth: { Username: USER, Password: PASSWORD }, properties: { ApiBase: api.url } })
      assert.equal(basic.statusCode, 201, basic.body)
      assert.equal(basic.json().authenticated, true)
      assert.equal(basic.json().authType, 'basic')
      assert.deepEqual(Object.keys(basic.json().auth).sort(), ['Password', 'Username'])
      assert.ok(!basic.body.includes(PASSWORD))

      const wrongPassword = await install(aid, { authId: 'basic', auth: { Username: USER, Password: 'nope-nope-nope' }, properties: { ApiBase: api.url } })
      assert.equal(wrongPassword.json().authenticated, false)
      assert.equal(wrongPassword.json().authError.status, 401)

      const fields = await install(aid, { authId: 'fields', auth: { AccountSid: SID, AuthToken: AUTH_TOKEN }, properties: { ApiBase: api.url } })
      assert.equal(fields.statusCode, 201, fields.body)
      assert.equal(fields.json().authenticated, true)
      assert.equal(fields.json().authType, 'authFields')
      const sent = api.requests.filter((r) => r.headers['x-account-sid'] === SID)
      assert.ok(sent.length >= 2 && sent.every((r) => r.headers['x-auth-token'] === AUTH_TOKEN))

      const badToken = await install(aid, { authId: 'fields', auth: { AccountSid: SID, AuthToken: 'tok_wrong_wrong_wrong' }, properties: { ApiBase: api.url } })
      assert.equal(badToken.json().authenticated, false)
      assert.equal(badToken.json().authError.stage, 'testAuth')

      const switched = await call('PUT', `/v1/accounts/${aid}/connectors/${badToken.json().id}/auth`, { authId: 'key', auth: { ApiKey: API_KEY } })
      assert.equal(switched.json().authenticated, true)
      assert.equal(switched.json().authType, 'apiKey', 'PUT auth may switch the authentication')
      assert.deepEqual(Object.keys(switched.json().auth), ['ApiKey'])
    })

    test('a failing property lookup leaves the account connector unauthenticated with the reason', async () => {
      const doc = saasRelease()
      doc.definition.methods.find((m) => m.id === 'get-account')!.http.path = '/missing'
      const broken = await liveConnector(doc, 'Broken lookup')
      const aid = await newAccount()
      const res = await install(aid, { connectorId: broken, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })
      assert.equal(res.statusCode, 201, res.body)
      assert.equal(res.json().authenticated, false)
      assert.equal(res.json().postInstall.testAuth.ok, true)
      assert.equal(res.json().postInstall.propertyLookup.ok, false)
      assert.equal(res.json().authError.stage, 'propertyLookup')
      assert.equal(res.json().authError.status, 404)
      assert.equal(res.json().properties.TenantId, undefined)
    })

    test('install input is checked: authentication, auth values and properties (400 with every problem)', async () => {
      const aid = await newAccount()
      const cases: Array<[object, RegExp]> = [
        [{ authId: 'oauth', auth: {}, properties: { ApiBase: api.url } }, /authId/],
        [{ auth: {}, properties: { ApiBase: api.url } }, /auth\.ApiKey: is required/],
        [{ auth: { ApiKey: API_KEY, Token: 'x' }, properties: { ApiBase: api.url } }, /auth\.Token: unknown auth value/],
        [{ authId: 'fields', auth: { AccountSid: SID }, properties: { ApiBase: api.url } }, /auth\.AuthToken: is required/],
        [{ auth: { ApiKey: API_KEY } }, /properties\.ApiBase: is required/],
        [{ auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url, Colour: 'red' } }, /properties\.Colour: unknown account property/],
      ]
      for (const [body, message] of cases) {
        const res = await install(aid, body)
        assert.equal(res.statusCode, 400, JSON.stringify(body))
        assert.equal(res.json().error.code, 'BAD_REQUEST')
        assert.match(res.json().error.message, message)
        assert.ok(Array.isArray(res.json().error.details))
      }
      const both = await install(aid, { auth: {}, properties: {} })
      assert.deepEqual(both.json().error.details.map((d: { path: string }) => d.path).sort(), ['auth.ApiKey', 'properties.ApiBase'])
      assert.equal((await install(aid, { connectorId: 'con_nope', auth: { ApiKey: API_KEY } })).statusCode, 404)
      assert.equal((await call('GET', `/v1/accounts/${aid}/connectors`)).json().items.length, 0, 'nothing was installed')
    })

    test('lookups: value/label pairs, searchable and paged; lookup-backed properties are checked', async () => {
      const aid = await newAccount()
      const ac = (await install(aid, { auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })).json()
      const base = `/v1/accounts/${aid}/connectors/${ac.id}/lookups`
      const all = await call('GET', `${base}/projects`)
      assert.equal(all.statusCode, 200, all.body)
      assert.deepEqual(all.json().items, PROJECTS.map((p) => ({ value: p.id, label: p.name })))
      assert.equal(all.json().ok, true)
      assert.equal(all.json().nextCursor, null)

      const searched = await call('GET', `${base}/projects?search=MER`)
      assert.deepEqual(searched.json().items, [{ value: 'p3', label: 'Mercury' }], 'matched on labels without a search parameter')
      const viaApi = await call('GET', `${base}/projects-by-name?search=gem`)
      assert.deepEqual(viaApi.json().items, [{ value: 'p2', label: 'Gemini' }])
      assert.ok(api.requests.some((r) => r.url === '/projects?q=gem'), 'a lookup with a searchParameter lets the API search')

      const p1 = (await call('GET', `${base}/projects?limit=3`)).json()
      assert.equal(p1.items.length, 3)
      assert.equal(p1.nextCursor, '3')
      const p2 = (await call('GET', `${base}/projects?limit=3&cursor=${p1.nextCursor}`)).json()
      assert.deepEqual(p2.items, [{ value: 'p4', label: 'Artemis' }])
      assert.equal(p2.nextCursor, null)
      assert.equal((await call('GET', `${base}/nope`)).statusCode, 404)

      const wrong = await install(aid, { auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url, ProjectId: 'p9' } })
      assert.equal(wrong.statusCode, 400, wrong.body)
      assert.match(wrong.json().error.message, /properties\.ProjectId: is not a value of lookup projects/)
      const right = await install(aid, { auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url, ProjectId: 'p2' } })
      assert.equal(right.statusCode, 201, right.body)
      assert.equal(right.json().properties.ProjectId, 'p2')
      const patchBad = await call('PATCH', `/v1/accounts/${aid}/connectors/${right.json().id}`, { properties: { ProjectId: 'zzz' } })
      assert.equal(patchBad.statusCode, 400)
      const patched = await call('PATCH', `/v1/accounts/${aid}/connectors/${right.json().id}`, { properties: { ProjectId: 'p3' }, name: 'Main' })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(patched.json().properties.ProjectId, 'p3')
      assert.equal(patched.json().name, 'Main')
      const required = await call('PATCH', `/v1/accounts/${aid}/connectors/${right.json().id}`, { properties: { ApiBase: '' } })
      assert.equal(required.statusCode, 400, 'a required property cannot be removed')
    })

    test('release status rules, no live release, and pinning to the live release', async () => {
      const aid = await newAccount()
      const planned = await liveConnector(saasRelease({ status: 'Planned' }), 'Planned')
      const p = await install(aid, { connectorId: planned, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })
      assert.equal(p.statusCode, 409)
      assert.equal(p.json().error.code, 'NOT_INSTALLABLE')
      assert.match(p.json().error.message, /Planned/)

      const other = await t.newPartner('Beta tester')
      const beta = await liveConnector(saasRelease({ status: 'Beta' }), 'Beta', other.apiKey)
      const betaAccount = await newAccount('Beta account', other.apiKey)
      const refused = await call('POST', `/v1/accounts/${betaAccount}/connectors`, { connectorId: beta, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } }, other.apiKey)
      assert.equal(refused.statusCode, 409)
      assert.match(refused.json().error.message, /Beta/)
      assert.equal((await call('PATCH', '/v1/partner', { enableBetaConnectors: true }, other.apiKey)).statusCode, 200)
      const allowed = await call('POST', `/v1/accounts/${betaAccount}/connectors`, { connectorId: beta, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } }, other.apiKey)
      assert.equal(allowed.statusCode, 201, allowed.body)

      const draftOnly = (await call('POST', '/v1/connectors', { name: 'Unreleased' })).json().id
      await call('POST', `/v1/connectors/${draftOnly}/releases`, saasRelease())
      const noLive = await install(aid, { connectorId: draftOnly, auth: { ApiKey: API_KEY } })
      assert.equal(noLive.statusCode, 409)
      assert.equal(noLive.json().error.code, 'NO_LIVE_RELEASE')

      const pinned = await liveConnector(saasRelease(), 'Pinned')
      const first = (await install(aid, { connectorId: pinned, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })).json()
      const v1 = (await call('GET', `/v1/connectors/${pinned}/releases/live`)).json()
      assert.equal(first.releaseId, v1.id)
      const d2 = await call('POST', `/v1/connectors/${pinned}/releases`, { from: 'live' })
      assert.equal((await call('POST', `/v1/connectors/${pinned}/releases/${d2.json().id}/push`, { kind: 'major' })).statusCode, 200)
      assert.equal((await call('GET', `/v1/accounts/${aid}/connectors/${first.id}`)).json().releaseId, v1.id, 'an installed connector stays on its release')
      const second = (await install(aid, { connectorId: pinned, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })).json()
      assert.equal(second.releaseId, d2.json().id, 'a new install takes the new live release')
      const stillWorks = await call('POST', `/v1/accounts/${aid}/connectors/${first.id}/methods/list-contacts/call`, {})
      assert.equal(stillWorks.json().ok, true, 'the deprecated release keeps working')
      const inUse = await call('DELETE', `/v1/connectors/${pinned}`)
      assert.equal(inUse.statusCode, 409, 'an installed connector cannot be deleted')
      assert.equal(inUse.json().error.code, 'CONNECTOR_IN_USE')
    })

    test("another partner's account connector is a 404 everywhere", async () => {
      const other = await t.newPartner('Stranger')
      const theirConnector = await liveConnector(saasRelease(), 'Theirs', other.apiKey)
      const theirAccount = await newAccount('Theirs', other.apiKey)
      const theirs = (await call('POST', `/v1/accounts/${theirAccount}/connectors`, { connectorId: theirConnector, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } }, other.apiKey)).json()
      const myAccount = await newAccount('Mine')
      const mine = (await install(myAccount, { auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })).json()
      const routes = (aid: string, acid: string): Array<[string, string, object?]> => [
        ['GET', `/v1/accounts/${aid}/connectors/${acid}`],
        ['PATCH', `/v1/accounts/${aid}/connectors/${acid}`, { name: 'x' }],
        ['DELETE', `/v1/accounts/${aid}/connectors/${acid}`],
        ['PUT', `/v1/accounts/${aid}/connectors/${acid}/auth`, { auth: { ApiKey: API_KEY } }],
        ['POST', `/v1/accounts/${aid}/connectors/${acid}/test-auth`],
        ['POST', `/v1/accounts/${aid}/connectors/${acid}/deauthenticate`],
        ['GET', `/v1/accounts/${aid}/connectors/${acid}/oauth/start`],
        ['POST', `/v1/accounts/${aid}/connectors/${acid}/methods/list-contacts/call`, {}],
        ['GET', `/v1/accounts/${aid}/connectors/${acid}/lookups/projects`],
      ]
      // Their account; their account connector under my account; my connector through their account.
      for (const [method, url, body] of [...routes(theirAccount, theirs.id), ...routes(myAccount, theirs.id), ...routes(theirAccount, mine.id)]) {
        const res = await call(method, url, body)
        assert.equal(res.statusCode, 404, `${method} ${url}`)
        assert.equal(res.json().error.code, 'NOT_FOUND')
      }
      const installTheirs = await install(myAccount, { connectorId: theirConnector, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })
      assert.equal(installTheirs.statusCode, 404, "another partner's connector cannot be installed")
      assert.equal((await call('GET', `/v1/connectors/${theirConnector}/properties`)).statusCode, 404)
      const check = await call('GET', `/v1/accounts/${theirAccount}/connectors/${theirs.id}`, undefined, other.apiKey)
      assert.equal(check.json().authenticated, true, 'untouched')
    })

    test('rate limits apply per account connector', async () => {
      const limited = saasRelease()
      ;(limited.definition as Record<string, unknown>).rateLimits = { secondsBetweenRequests: 0.25 }
      const rl = await liveConnector(limited, 'Limited')
      const aid = await newAccount()
      const a = (await install(aid, { connectorId: rl, auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })).json()
      const b = (await install(aid, { connectorId: rl, auth: { ApiKey: OTHER_KEY }, properties: { ApiBase: api.url } })).json()
      await sleep(300) // let the post-install calls' slots pass
      const started = Date.now()
      const arrivals: Record<string, number[]> = { [API_KEY]: [], [OTHER_KEY]: [] }
      const before = api.requests.length
      let elapsedB = 0
      const [ra, rb] = await Promise.all([
        call('POST', `/v1/accounts/${aid}/connectors/${a.id}/methods/list-contacts/call`, { pages: 3 }),
        (async () => {
          await sleep(20)
          const r = await call('POST', `/v1/accounts/${aid}/connectors/${b.id}/methods/list-contacts/call`, {})
          elapsedB = Date.now() - started
          return r
        })(),
      ])
      assert.equal(ra.json().records.length, 5)
      assert.equal(rb.json().records.length, 2)
      assert.ok(Date.now() - started >= 450, 'three requests of one account connector are spaced by 250 ms')
      assert.ok(elapsedB < 400, `another account connector does not wait for the first (${elapsedB} ms)`)
      for (const r of api.requests.slice(before)) arrivals[r.headers['x-api-key'] as string]?.push(1)
      assert.equal(arrivals[API_KEY].length, 3)
      assert.equal(arrivals[OTHER_KEY].length, 1)
    })

    test('sealed secrets are bound to their row: a ciphertext moved to another row does not open', async () => {
      const aid = await newAccount()
      const one = (await install(aid, { auth: { ApiKey: API_KEY }, properties: { ApiBase: api.url } })).json()
      const two = (await install(aid, { auth: { ApiKey: OTHER_KEY }, properties: { ApiBase: api.url } })).json()
      const db = t.services.store.db
      const sealed = (await db.selectFrom('account_connectors').select('auth_values').where('id', '=', one.id).executeTakeFirstOrThrow()).auth_values
      await db.updateTable('account_connectors').set({ auth_values: sealed }).where('id', '=', two.id).execute()
      const res = await call('POST', `/v1/accounts/${aid}/connectors/${two.id}/test-auth`)
      assert.equal(res.statusCode, 500)
      assert.equal(res.json().error.code, 'SECRET_UNREADABLE')
      assert.equal((await call('POST', `/v1/accounts/${aid}/connectors/${one.id}/test-auth`)).json().authenticated, true, 'the original row still opens')

      // Saves after a call are compare-and-set on the credentials: a concurrent rotation elsewhere wins.
      const repo = t.services.store.accountConnectors
      const loaded = await t.services.store.db.selectFrom('account_connectors').select(['partner_id', 'auth_values']).where('id', '=', one.id).executeTakeFirstOrThrow()
      const current = (await repo.get(loaded.partner_id, aid, one.id))!
      assert.equal(await repo.save({ ...current, authenticated: false }, { ifSealedAuth: 'v1.someone-else' }), false)
      assert.equal((await repo.get(loaded.partner_id, aid, one.id))!.authenticated, true, 'not overwritten')
      assert.equal(await repo.save({ ...current, name: 'cas' }, { ifSealedAuth: loaded.auth_values }), true)
    })

    test('credentials never appear in any response, log line or error', async () => {
      // A rejected key echoed by the API in its error body comes back redacted.
      const aid = await newAccount()
      const echoed = 'sk_live_echoed_5566778899aabb'
      const echoApi = await saasApi(() => false)
      try {
        const res = await install(aid, { auth: { ApiKey: echoed }, properties: { ApiBase: echoApi.url } })
        assert.equal(res.json().authenticated, false)
      } finally {
        await echoApi.close()
      }
      const secrets = [API_KEY, OTHER_KEY, PASSWORD, AUTH_TOKEN, api.sessionToken, echoed, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]
      assert.ok(bodies.length > 40, `responses were collected (${bodies.length})`)
      assert.ok(logs.some((l) => l.includes('account connector installed')), 'outcomes are logged')
      assert.ok(logs.some((l) => l.includes('incoming request')), 'requests are logged')
      for (const s of secrets) {
        assert.ok(!bodies.some((b) => b.includes(s)), `a response contains ${s.slice(0, 10)}…`)
        assert.ok(!logs.some((l) => l.includes(s)), `a log line contains ${s.slice(0, 10)}…`)
      }
    })
  })
}

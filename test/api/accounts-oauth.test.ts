import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { redactPaths } from '../../src/shared/logging.js'
import { oauthProvider, TestClock, type OAuthProvider } from '../helpers/account-apis.js'
import { oauthRelease } from '../helpers/account-definitions.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'

const PARTNER_APP = { id: 'plexus-partner-app', secret: 'partner-secret-abcdef123456' }
const CUSTOMER_APP = { id: 'customer-own-app', secret: 'customer-secret-zyxwvu987654' }
const PUBLIC_URL = 'https://plexus.example.com'
const RETURN_URL = 'https://app.example.com/integrations/done?from=plexus'
const HOUR = 3600_000

for (const dialect of dialects()) {
  describe(`OAuth2 account connectors [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let provider: OAuthProvider
    let cid: string
    const clock = new TestClock()
    const logs: string[] = []
    const bodies: string[] = []
    /** Authorization codes seen in redirects: they must not reach responses or logs either. */
    const codes: string[] = []

    const call = async (method: string, url: string, body?: unknown, k: string | undefined = key): Promise<LightMyRequestResponse> => {
      const res = await t.call(method, url, { key: k, body })
      bodies.push(res.body, JSON.stringify(res.headers))
      return res
    }
    const newAccount = async (k = key) => (await call('POST', '/v1/accounts', { name: 'Initech' }, k)).json().id as string
    const base = (aid: string, acid: string) => `/v1/accounts/${aid}/connectors/${acid}`

    /** oauth/start → the provider (a consenting user) → GET /v1/oauth/callback, as a browser would. */
    const authorize = async (aid: string, acid: string, opts: { deny?: boolean; k?: string } = {}) => {
      const start = await call('GET', `${base(aid, acid)}/oauth/start`, undefined, opts.k ?? key)
      assert.equal(start.statusCode, 200, start.body)
      const back = await provider.authorize(start.json().authorizeUrl, { deny: opts.deny })
      const code = back.searchParams.get('code')
      if (code) codes.push(code)
      assert.equal(back.origin + back.pathname, `${PUBLIC_URL}/v1/oauth/callback`)
      return { start: start.json(), back, callback: await call('GET', `/v1/oauth/callback${back.search}`, undefined, undefined) }
    }

    before(async () => {
      provider = await oauthProvider({ clients: [PARTNER_APP, CUSTOMER_APP], expiresIn: 3600, requirePkce: true })
      t = await startTestApp(dialect, {
        clock,
        config: { allowPrivateNetwork: true, publicUrl: PUBLIC_URL },
        logger: { level: 'debug', redact: redactPaths, stream: { write: (line: string) => void logs.push(line) } },
      })
      key = (await t.newPartner()).apiKey
      for (const bad of ['not a url', 'javascript:alert(1)', 'https://user:pw@example.com/x']) {
        assert.equal((await call('PATCH', '/v1/partner', { oauthReturnUrl: bad })).statusCode, 400, bad)
      }
      assert.equal((await call('PATCH', '/v1/partner', { oauthReturnUrl: RETURN_URL })).json().oauthReturnUrl, RETURN_URL)
      cid = (await call('POST', '/v1/connectors', { name: 'Provider' })).json().id
      const draft = await call('POST', `/v1/connectors/${cid}/releases`, oauthRelease())
      assert.equal(draft.statusCode, 201, draft.body)
      assert.equal((await call('POST', `/v1/connectors/${cid}/releases/${draft.json().id}/push`, { kind: 'major' })).statusCode, 200)
      const props = await call('PUT', `/v1/connectors/${cid}/properties`, { properties: { ClientId: PARTNER_APP.id, ClientSecret: PARTNER_APP.secret } })
      assert.equal(props.statusCode, 200, props.body)
      assert.deepEqual(props.json().properties, { ClientId: PARTNER_APP.id, ClientSecret: `****${PARTNER_APP.secret.slice(-4)}` })
      assert.deepEqual(props.json().available, [{ name: 'ClientId', sensitive: false }, { name: 'ClientSecret', sensitive: true }])
    })
    after(async () => {
      await provider.close()
      await t.close()
    })

    test('authorize → callback → tokens → call → expiry → refresh → revoked refresh token → unauthenticated', async () => {
      const aid = await newAccount()
      const installed = await call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: cid, properties: { ApiBase: provider.url } })
      assert.equal(installed.statusCode, 201, installed.body)
      const ac = installed.json()
      assert.equal(ac.authType, 'oauth2')
      assert.equal(ac.authenticated, false)
      assert.equal(ac.authError, null, 'waiting for authorization is not an error')
      assert.deepEqual(ac.oauth, { hasAccessToken: false, hasRefreshToken: false, tokenExpiresAt: null })
      const early = await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})
      assert.equal(early.statusCode, 409)
      assert.match(early.json().error.message, /oauth\/start/)

      const { start, callback } = await authorize(aid, ac.id)
      const url = new URL(start.authorizeUrl)
      assert.equal(url.origin + url.pathname, `${provider.url}/authorize`)
      assert.equal(url.searchParams.get('client_id'), PARTNER_APP.id)
      assert.equal(url.searchParams.get('redirect_uri'), `${PUBLIC_URL}/v1/oauth/callback`)
      assert.equal(url.searchParams.get('scope'), 'read write')
      assert.equal(url.searchParams.get('response_type'), 'code')
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256')
      assert.match(url.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/)
      assert.equal(url.searchParams.get('state'), start.state)
      assert.equal(start.redirectUri, `${PUBLIC_URL}/v1/oauth/callback`)
      assert.equal(Date.parse(start.expiresAt) - clock.now().getTime(), 10 * 60_000)

      assert.equal(callback.statusCode, 302, callback.body)
      const back = new URL(callback.headers.location as string)
      assert.equal(back.origin + back.pathname, 'https://app.example.com/integrations/done')
      assert.deepEqual(Object.fromEntries(back.searchParams), { from: 'plexus', status: 'success', accountId: aid, accountConnectorId: ac.id })
      assert.equal(callback.headers['cache-control'], 'no-store')

      const exchange = provider.tokenRequests.at(-1)!
      assert.equal(exchange.grant_type, 'authorization_code')
      assert.equal(exchange.client_id, PARTNER_APP.id, "the partner's app by default")
      assert.equal(exchange.redirect_uri, `${PUBLIC_URL}/v1/oauth/callback`)
      assert.match(exchange.code_verifier, /^[A-Za-z0-9_-]{43}$/, 'PKCE verifier sent (the provider checked it)')

      const authed = (await call('GET', base(aid, ac.id))).json()
      assert.equal(authed.authenticated, true)
      assert.equal(authed.authError, null)
      assert.equal(authed.oauth.hasAccessToken, true)
      assert.equal(authed.oauth.hasRefreshToken, true)
      const expiresAt = Date.parse(authed.oauth.tokenExpiresAt)
      assert.ok(expiresAt > clock.now().getTime() + 0.9 * HOUR && expiresAt <= clock.now().getTime() + HOUR, 'expiry recorded a little early')
      assert.equal(authed.properties.TenantId, 'tenant-oauth', 'post-install ran after the callback')
      assert.deepEqual(authed.auth, {}, 'tokens are never shown, not even as hints')

      const first = provider.issued.at(-1)!
      const data = await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, { pages: 5 })
      assert.equal(data.json().ok, true, data.body)
      assert.deepEqual(data.json().records.map((r: { id: string }) => r.id), ['c1', 'c2', 'c3', 'c4', 'c5'])
      assert.equal(provider.requests.filter((r) => r.url.startsWith('/api/contacts')).at(-1)!.headers.authorization, `Bearer ${first.access}`)

      const replay = await call('GET', `/v1/oauth/callback?state=${encodeURIComponent(start.state)}&code=${encodeURIComponent(codes.at(-1)!)}`, undefined, undefined)
      assert.equal(replay.statusCode, 400)
      assert.equal(replay.json().error.code, 'OAUTH_STATE_INVALID')

      // Expiry: the token is renewed before the call, with the refresh token, and the new pair is kept.
      clock.advance(2 * HOUR)
      const tokenCalls = provider.tokenRequests.length
      const afterExpiry = await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})
      assert.equal(afterExpiry.json().ok, true, afterExpiry.body)
      assert.equal(provider.tokenRequests.length, tokenCalls + 1)
      assert.deepEqual(provider.tokenRequests.at(-1), { grant_type: 'refresh_token', refresh_token: first.refresh, client_id: PARTNER_APP.id, client_secret: PARTNER_APP.secret })
      const second = provider.issued.at(-1)!
      assert.equal(provider.requests.at(-1)!.headers.authorization, `Bearer ${second.access}`)
      const renewed = (await call('GET', base(aid, ac.id))).json()
      assert.ok(Date.parse(renewed.oauth.tokenExpiresAt) > clock.now().getTime(), 'the rotated tokens were persisted')
      assert.ok(afterExpiry.json().requests.some((r: { purpose: string }) => r.purpose === 'token'))

      // A 401 before expiry: refreshed once and retried.
      provider.revokeAccessTokens()
      const after401 = await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})
      assert.equal(after401.json().ok, true, after401.body)
      assert.equal(provider.tokenRequests.at(-1)!.refresh_token, second.refresh)
      const statuses = after401.json().requests.map((r: { purpose: string; status: number }) => `${r.purpose}:${r.status}`)
      assert.deepEqual(statuses, ['method:401', 'token:200', 'method:200'])

      // The refresh token is revoked: the refresh fails and the account connector is unauthenticated.
      provider.revokeAccessTokens()
      provider.revokeRefreshTokens()
      const failed = await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})
      assert.equal(failed.statusCode, 200)
      assert.equal(failed.json().ok, false)
      assert.equal(failed.json().error.kind, 'auth')
      assert.match(failed.json().error.message, /invalid_grant/)
      const dead = (await call('GET', base(aid, ac.id))).json()
      assert.equal(dead.authenticated, false)
      assert.equal(dead.authError.stage, 'tokenRefresh')
      assert.equal(dead.authError.status, 400)
      assert.match(dead.authError.message, /refresh token revoked/)
      const refused = await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})
      assert.equal(refused.statusCode, 409)
      assert.equal(refused.json().error.code, 'NOT_AUTHENTICATED')
      assert.equal(refused.json().error.details.stage, 'tokenRefresh')

      // Authorizing again brings it back.
      const again = await authorize(aid, ac.id)
      assert.equal(again.callback.statusCode, 302)
      assert.equal((await call('GET', base(aid, ac.id))).json().authenticated, true)
      assert.equal((await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})).json().ok, true)
    })

    test('tampered, replayed, expired and missing states are refused', async () => {
      const aid = await newAccount()
      const ac = (await call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: cid, properties: { ApiBase: provider.url } })).json()
      const callback = (qs: string) => call('GET', `/v1/oauth/callback?${qs}`, undefined, undefined)
      const refused = async (res: LightMyRequestResponse, why: RegExp) => {
        assert.equal(res.statusCode, 400, res.body)
        assert.equal(res.json().error.code, 'OAUTH_STATE_INVALID')
        assert.match(res.json().error.message, why)
      }

      const start = (await call('GET', `${base(aid, ac.id)}/oauth/start`)).json()
      const back = await provider.authorize(start.authorizeUrl)
      const code = back.searchParams.get('code')!
      codes.push(code)
      const [body, sig] = start.state.split('.')
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString())
      const forged = Buffer.from(JSON.stringify({ ...payload, e: payload.e + 10 * HOUR })).toString('base64url')
      await refused(await callback(`state=${forged}.${sig}&code=${code}`), /altered/)
      const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1)
      await refused(await callback(`state=${body}.${flipped}&code=${code}`), /altered/)
      await refused(await callback(`state=garbage&code=${code}`), /altered/)
      await refused(await callback(`code=${code}`), /missing/)
      assert.equal((await call('GET', base(aid, ac.id))).json().authenticated, false, 'nothing happened')

      const ok = await callback(back.search.slice(1))
      assert.equal(ok.statusCode, 302, ok.body)
      await refused(await callback(back.search.slice(1)), /already used/)

      const late = (await call('GET', `${base(aid, ac.id)}/oauth/start`)).json()
      const lateBack = await provider.authorize(late.authorizeUrl)
      codes.push(lateBack.searchParams.get('code')!)
      clock.advance(11 * 60_000)
      await refused(await callback(lateBack.search.slice(1)), /expired/)
    })

    test('per-account client id/secret override the partner app, for the exchange and for refreshes', async () => {
      const aid = await newAccount()
      const res = await call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: cid, auth: { ClientId: CUSTOMER_APP.id, ClientSecret: CUSTOMER_APP.secret }, properties: { ApiBase: provider.url } })
      assert.equal(res.statusCode, 201, res.body)
      const ac = res.json()
      assert.deepEqual(ac.auth, { ClientId: `****${CUSTOMER_APP.id.slice(-4)}`, ClientSecret: `****${CUSTOMER_APP.secret.slice(-4)}` })
      const { start, callback } = await authorize(aid, ac.id)
      assert.equal(new URL(start.authorizeUrl).searchParams.get('client_id'), CUSTOMER_APP.id)
      assert.equal(callback.statusCode, 302)
      assert.equal(provider.tokenRequests.at(-1)!.client_id, CUSTOMER_APP.id)
      assert.equal(provider.tokenRequests.at(-1)!.client_secret, CUSTOMER_APP.secret)
      assert.equal((await call('GET', base(aid, ac.id))).json().authenticated, true)
      clock.advance(2 * HOUR)
      assert.equal((await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})).json().ok, true)
      assert.equal(provider.tokenRequests.at(-1)!.grant_type, 'refresh_token')
      assert.equal(provider.tokenRequests.at(-1)!.client_id, CUSTOMER_APP.id)
      const kept = (await call('GET', base(aid, ac.id))).json()
      assert.deepEqual(Object.keys(kept.auth).sort(), ['ClientId', 'ClientSecret'], 'the override outlives token rotation')
    })

    test('a refusal, a failed code exchange, no return URL (JSON), and OAuth on the wrong connector', async () => {
      const other = await t.newPartner('No return URL')
      const k = other.apiKey
      const ocid = (await call('POST', '/v1/connectors', { name: 'Provider' }, k)).json().id
      const d = await call('POST', `/v1/connectors/${ocid}/releases`, oauthRelease({ clientAuth: 'basic' }), k)
      await call('POST', `/v1/connectors/${ocid}/releases/${d.json().id}/push`, { kind: 'major' }, k)
      const aid = await newAccount(k)
      const ac = (await call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: ocid, properties: { ApiBase: provider.url } }, k)).json()

      const noClient = await call('GET', `${base(aid, ac.id)}/oauth/start`, undefined, k)
      assert.equal(noClient.statusCode, 409)
      assert.equal(noClient.json().error.code, 'OAUTH_NOT_CONFIGURED')
      assert.match(noClient.json().error.message, /ClientId/)

      await call('PUT', `/v1/connectors/${ocid}/properties`, { properties: { ClientId: PARTNER_APP.id, ClientSecret: 'not-the-secret-at-all' } }, k)
      const denied = await authorize(aid, ac.id, { deny: true, k })
      assert.equal(denied.callback.statusCode, 200, 'without a return URL the outcome is JSON')
      assert.deepEqual(denied.callback.json(), { status: 'error', accountId: aid, accountConnectorId: ac.id, authenticated: false, error: 'access_denied' })
      const afterDeny = (await call('GET', base(aid, ac.id), undefined, k)).json()
      assert.equal(afterDeny.authError.stage, 'authorization')
      assert.match(afterDeny.authError.message, /access_denied/)

      const badSecret = await authorize(aid, ac.id, { k })
      assert.equal(badSecret.callback.json().status, 'error')
      assert.equal(badSecret.callback.json().error, 'token_exchange_failed')
      const afterExchange = (await call('GET', base(aid, ac.id), undefined, k)).json()
      assert.equal(afterExchange.authError.stage, 'tokenExchange')
      assert.equal(afterExchange.authError.status, 401)
      assert.match(afterExchange.authError.message, /invalid_client/)
      assert.ok(/^Basic /.test(provider.requests.filter((r) => r.url === '/token').at(-1)!.headers.authorization as string), 'clientAuth: basic sends the client in a header')

      await call('PUT', `/v1/connectors/${ocid}/properties`, { properties: { ClientSecret: PARTNER_APP.secret } }, k)
      const good = await authorize(aid, ac.id, { k })
      assert.equal(good.callback.json().status, 'success')
      assert.equal(good.callback.json().authenticated, true)
      assert.equal(good.callback.json().partnerId, undefined)

      const plain = (await call('POST', '/v1/connectors', { name: 'Key API' }, k)).json().id
      const pd = await call('POST', `/v1/connectors/${plain}/releases`, {
        settings: { status: 'Approved' },
        definition: {
          baseUrl: 'https://api.example.com',
          authentications: [{ id: 'key', name: 'Key', type: 'apiKey', in: 'header', header: 'X-Key' }],
          methods: [{ id: 'ping', name: 'Ping', type: 'action', http: { method: 'GET', path: '/ping' } }],
        },
      }, k)
      await call('POST', `/v1/connectors/${plain}/releases/${pd.json().id}/push`, { kind: 'major' }, k)
      const keyed = (await call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: plain, auth: { ApiKey: 'abc' } }, k)).json()
      const wrong = await call('GET', `${base(aid, keyed.id)}/oauth/start`, undefined, k)
      assert.equal(wrong.statusCode, 409)
      assert.equal(wrong.json().error.code, 'OAUTH_NOT_CONFIGURED')
    })

    test("the release's OAuth2 script events change the authorize URL, token and refresh requests and responses", async () => {
      const doc = oauthRelease()
      ;(doc.definition as Record<string, unknown>).script = [
        "function before_oauth2_authorise() { method_endpoint = method_endpoint + '&prompt=consent'; return true; }",
        "function before_oauth2_token() { method_request.audience = 'plexus-tests'; return true; }",
        'function after_oauth2_token() { method_response.expires_in = 60; return true; }',
        "function before_oauth2_refresh() { method_request.refresh_hint = 'scripted'; return true; }",
        'function after_oauth2_refresh() { method_response.expires_in = 120; return true; }',
      ].join('\n')
      const scid = (await call('POST', '/v1/connectors', { name: 'Scripted' })).json().id
      const d = await call('POST', `/v1/connectors/${scid}/releases`, doc)
      assert.equal((await call('POST', `/v1/connectors/${scid}/releases/${d.json().id}/push`, { kind: 'major' })).statusCode, 200)
      await call('PUT', `/v1/connectors/${scid}/properties`, { properties: { ClientId: PARTNER_APP.id, ClientSecret: PARTNER_APP.secret } })
      const aid = await newAccount()
      const ac = (await call('POST', `/v1/accounts/${aid}/connectors`, { connectorId: scid, properties: { ApiBase: provider.url } })).json()
      const { start, callback } = await authorize(aid, ac.id)
      assert.equal(new URL(start.authorizeUrl).searchParams.get('prompt'), 'consent', 'before_oauth2_authorise')
      assert.equal(callback.statusCode, 302, callback.body)
      assert.equal(provider.tokenRequests.at(-1)!.audience, 'plexus-tests', 'before_oauth2_token')
      const shown = (await call('GET', base(aid, ac.id))).json()
      assert.equal(shown.authenticated, true)
      const lifetime = Date.parse(shown.oauth.tokenExpiresAt) - clock.now().getTime()
      assert.ok(lifetime > 40_000 && lifetime <= 60_000, `after_oauth2_token shortened the lifetime (${lifetime} ms)`)

      clock.advance(2 * 60_000)
      const refreshed = await call('POST', `${base(aid, ac.id)}/methods/list-contacts/call`, {})
      assert.equal(refreshed.json().ok, true, refreshed.body)
      assert.equal(provider.tokenRequests.at(-1)!.grant_type, 'refresh_token')
      assert.equal(provider.tokenRequests.at(-1)!.refresh_hint, 'scripted', 'before_oauth2_refresh')
      const after = (await call('GET', base(aid, ac.id))).json()
      const renewed = Date.parse(after.oauth.tokenExpiresAt) - clock.now().getTime()
      assert.ok(renewed > 100_000 && renewed <= 120_000, `after_oauth2_refresh set the lifetime (${renewed} ms)`)
    })

    test('no token, code or client secret appears in any response or log line', async () => {
      const secrets = [PARTNER_APP.secret, CUSTOMER_APP.secret, ...provider.issued.flatMap((i) => [i.access, i.refresh]), ...codes]
      assert.ok(provider.issued.length >= 6 && codes.length >= 6, 'the flows above ran')
      assert.ok(logs.some((l) => l.includes('OAuth2 authorization failed')), 'failures are logged')
      assert.ok(logs.some((l) => l.includes('token refresh failed')))
      for (const s of secrets) {
        assert.ok(!bodies.some((b) => b.includes(s)), `a response contains ${s.slice(0, 8)}…`)
        assert.ok(!logs.some((l) => l.includes(s)), `a log line contains ${s.slice(0, 8)}…`)
      }
      const rows = await t.services.store.db.selectFrom('account_connectors').selectAll().execute()
      const partnerRows = await t.services.store.db.selectFrom('partner_connector_properties').selectAll().execute()
      const stored = JSON.stringify([rows, partnerRows])
      for (const s of secrets) assert.ok(!stored.includes(s), 'stored sealed, never in clear')
    })
  })
}

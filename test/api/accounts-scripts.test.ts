// Account connector calls run the release's connector- and method-level scripts: a script's
// AuthSessionException re-runs the post-install property lookup method (a new session), and the
// call is retried once with the new properties (issue 5 §3); lookups run the scripts too.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { startServer, type TestServer } from '../helpers/http-server.js'

const API_KEY = 'sk_session_api_8c7b6a5d4e'

interface SessionApi extends TestServer {
  /** The session token /contacts accepts now. */
  current: () => string
  /** Invalidates the current session (the next /session hands out a new one). */
  expire: () => void
}

async function sessionApi(): Promise<SessionApi> {
  let n = 0
  let current = ''
  const server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (req.headers['x-api-key'] !== API_KEY) {
      res.statusCode = 401
      return res.end('{"error":"bad key"}')
    }
    if (url.pathname === '/me') return res.end('{"id":"u1"}')
    if (url.pathname === '/session') {
      current ||= `sess-${++n}`
      return res.end(JSON.stringify({ session: { token: current } }))
    }
    // Like many session APIs: 200 with an error body when the session is gone.
    if (req.headers['x-session'] !== current) return res.end(JSON.stringify({ error_code: 'You are not logged on.' }))
    if (url.pathname === '/contacts') return res.end(JSON.stringify({ data: [{ id: 'c1' }, { id: 'c2' }] }))
    if (url.pathname === '/projects') return res.end(JSON.stringify({ items: [['p1', 'Apollo'], ['p2', 'Gemini']] }))
    res.statusCode = 404
    res.end('{}')
  })
  return Object.assign(server, { current: () => current, expire: () => void (current = '') })
}

const release = (baseUrl: string) => ({
  settings: {
    status: 'Approved',
    postInstallTestAuthMethod: 'get-me',
    postInstallPropertyLookupMethod: 'new-session',
    postInstallPropertyMappings: [{ property: 'SessionToken', location: 'session.token' }],
  },
  definition: {
    baseUrl,
    script: `function after_action() {
  if (method_response && method_response.error_code === 'You are not logged on.') throw new AuthSessionException();
  return true;
}`,
    authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
    parameters: [{ name: 'SessionToken', target: 'header', targetName: 'X-Session', scope: 'account', optional: true, hidden: true, sensitive: true }],
    lookups: [{ name: 'projects', method: 'list-projects', valuePath: 'id', labelPath: 'name' }],
    methods: [
      { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' } },
      { id: 'new-session', name: 'New Session', category: 'Users', type: 'action', http: { method: 'GET', path: '/session' } },
      { id: 'list-contacts', name: 'List Contacts', category: 'Contacts', type: 'action', http: { method: 'GET', path: '/contacts' }, records: 'data', response: { fields: [{ location: 'id', field: 'ContactId' }] } },
      {
        id: 'list-projects',
        name: 'List Projects',
        category: 'Projects',
        type: 'action',
        http: { method: 'GET', path: '/projects' },
        records: 'projects',
        script: `function after_action() {
  method_response = { projects: method_response.items.map(function (p) { return { id: p[0], name: p[1] }; }) };
  return true;
}`,
      },
    ],
  },
})

for (const dialect of dialects()) {
  describe(`account connector calls run the release scripts [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let api: SessionApi
    let aid: string
    let acid: string

    before(async () => {
      api = await sessionApi()
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true } })
      key = (await t.newPartner()).apiKey
      const cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Sessions' } })).json().id
      const d = await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: release(api.url) })
      assert.equal(d.statusCode, 201, d.body)
      const p = await t.call('POST', `/v1/connectors/${cid}/releases/${d.json().id}/push`, { key, body: { kind: 'major' } })
      assert.equal(p.statusCode, 200, p.body)
      aid = (await t.call('POST', '/v1/accounts', { key, body: { name: 'Initech' } })).json().id
      const ac = await t.call('POST', `/v1/accounts/${aid}/connectors`, { key, body: { connectorId: cid, auth: { ApiKey: API_KEY } } })
      assert.equal(ac.statusCode, 201, ac.body)
      assert.equal(ac.json().authenticated, true, ac.body)
      acid = ac.json().id
    })
    after(async () => {
      await t.close()
      await api.close()
    })

    const sessions = () => api.requests.filter((r) => r.url === '/session').length
    const contacts = () => api.requests.filter((r) => r.url === '/contacts').map((r) => r.headers['x-session'])

    test('AuthSessionException in a script re-runs the property lookup, and the call is retried once with the new session', async () => {
      assert.equal(sessions(), 1, 'the install ran the property lookup once')
      const first = await t.call('POST', `/v1/accounts/${aid}/connectors/${acid}/methods/list-contacts/call`, { key, body: {} })
      assert.equal(first.statusCode, 200, first.body)
      assert.equal(first.json().ok, true, first.body)
      assert.deepEqual(first.json().records, [{ ContactId: 'c1' }, { ContactId: 'c2' }])
      assert.equal(sessions(), 1, 'a valid session is not renewed')

      api.expire()
      const renewed = await t.call('POST', `/v1/accounts/${aid}/connectors/${acid}/methods/list-contacts/call`, { key, body: {} })
      assert.equal(renewed.json().ok, true, renewed.body)
      assert.deepEqual(renewed.json().records, [{ ContactId: 'c1' }, { ContactId: 'c2' }])
      assert.equal(sessions(), 2, 'the property lookup ran again')
      assert.deepEqual(contacts().slice(-2), ['sess-1', 'sess-2'], 'the old session, then the retry with the new one')

      // The new session was stored: the next call uses it at once.
      const again = await t.call('POST', `/v1/accounts/${aid}/connectors/${acid}/methods/list-contacts/call`, { key, body: {} })
      assert.equal(again.json().ok, true, again.body)
      assert.equal(sessions(), 2)
      assert.equal(contacts().at(-1), 'sess-2')
      assert.ok(!again.body.includes('sess-2') && !again.body.includes(API_KEY), 'the sensitive session token is not shown')
    })

    test('lookups run the method-level scripts (a reshaped response), with session renewal too', async () => {
      api.expire()
      const res = await t.call('GET', `/v1/accounts/${aid}/connectors/${acid}/lookups/projects`, { key })
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(res.json().items.map((i: { value: string; label: string }) => [i.value, i.label]), [['p1', 'Apollo'], ['p2', 'Gemini']])
      assert.equal(sessions(), 3)
    })
  })
}

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { saasApi, type SaasApi } from '../helpers/account-apis.js'
import { saasRelease } from '../helpers/account-definitions.js'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'

const KEY = 'sk_test_method_0123456789'

for (const dialect of dialects()) {
  describe(`POST …/releases/:rid/methods/:mid/test [${dialect}]`, () => {
    let t: TestApp
    let key: string
    let api: SaasApi
    let cid: string
    let draft: string
    before(async () => {
      t = await startTestApp(dialect, { config: { allowPrivateNetwork: true } })
      key = (await t.newPartner()).apiKey
      api = await saasApi((req) => req.headers['x-api-key'] === KEY)
      cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'SaaS' } })).json().id
      draft = (await t.call('POST', `/v1/connectors/${cid}/releases`, { key, body: saasRelease() })).json().id
    })
    after(async () => {
      await api.close()
      await t.close()
    })

    const run = (rid: string, mid: string, body: object, k = key) => t.call('POST', `/v1/connectors/${cid}/releases/${rid}/methods/${mid}/test`, { key: k, body })

    test('runs a method of a draft with inline auth; secrets redacted', async () => {
      const res = await run(draft, 'list-projects', { auth: { ApiKey: KEY }, properties: { ApiBase: api.url }, maxPages: 1 })
      assert.equal(res.statusCode, 200, res.body)
      const body = res.json()
      assert.equal(body.ok, true, res.body)
      assert.deepEqual(body.records.map((r: { id: string }) => r.id), ['p1', 'p2', 'p3', 'p4'])
      assert.equal(body.requests[0].headers['X-Api-Key'], '[REDACTED]')
      assert.equal(body.responses[0].status, 200)
      assert.ok(!res.body.includes(KEY))
      assert.equal(api.requests.at(-1)!.headers['x-api-key'], KEY)
    })

    test('an API failure is a result, not an error; unknown method and other partners are 404', async () => {
      const res = await run(draft, 'get-me', { auth: { ApiKey: 'sk_wrong_wrong_wrong' }, properties: { ApiBase: api.url } })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().ok, false)
      assert.equal(res.json().error.status, 401)
      assert.ok(!res.body.includes('sk_wrong_wrong_wrong'))
      assert.equal((await run(draft, 'nope', { auth: {} })).statusCode, 404)
      const other = await t.newPartner('Other')
      assert.equal((await run(draft, 'get-me', { auth: {} }, other.apiKey)).statusCode, 404)
      assert.equal((await run(draft, 'get-me', { bogus: 1 })).statusCode, 400)
    })
  })
}

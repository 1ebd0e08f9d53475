import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'

for (const dialect of dialects()) {
  describe(`partners and keys [${dialect}]`, () => {
    let t: TestApp
    before(async () => (t = await startTestApp(dialect)))
    after(() => t.close())

    test('the admin token creates a partner and its API key is shown once', async () => {
      const res = await t.call('POST', '/v1/partners', { key: ADMIN_TOKEN, body: { name: 'Acme' } })
      assert.equal(res.statusCode, 201)
      const body = res.json()
      assert.match(body.apiKey, /^plx_[A-Za-z0-9_-]{43}$/)
      assert.equal(body.name, 'Acme')
      assert.deepEqual(body.plan, { allowCustomConnectors: true, maxCustomConnectors: null })
      const me = await t.call('GET', '/v1/partner', { key: body.apiKey })
      assert.equal(me.statusCode, 200)
      assert.equal(me.json().id, body.id)
      assert.equal(me.json().apiKey, undefined, 'the key is never shown again')
    })

    test('keys are stored only as SHA-256 hashes', async () => {
      const p = await t.newPartner('Hashy')
      const rows = await t.services.store.db.selectFrom('api_keys').selectAll().where('partner_id', '=', p.id).execute()
      assert.equal(rows.length, 1)
      assert.notEqual(rows[0].key_hash, p.apiKey)
      assert.match(rows[0].key_hash, /^[0-9a-f]{64}$/)
      assert.ok(!JSON.stringify(rows).includes(p.apiKey))
    })

    test('creating partners needs the admin token, not a partner key', async () => {
      const p = await t.newPartner()
      for (const key of [undefined, p.apiKey, 'wrong']) {
        const res = await t.call('POST', '/v1/partners', { key, body: { name: 'X' } })
        assert.equal(res.statusCode, 401)
        assert.equal(res.json().error.code, 'UNAUTHORIZED')
      }
    })

    test('every /v1 route needs a valid key', async () => {
      for (const [m, url] of [['GET', '/v1/connectors'], ['GET', '/v1/partner'], ['GET', '/v1/schemas/connector-definition.json'], ['POST', '/v1/connectors']]) {
        const none = await t.call(m, url)
        assert.equal(none.statusCode, 401, `${m} ${url}`)
        const bad = await t.call(m, url, { key: 'plx_' + 'a'.repeat(43) })
        assert.equal(bad.statusCode, 401)
        assert.match(bad.json().error.message, /invalid or revoked/)
      }
    })

    test('a revoked key stops working at once; another key keeps working', async () => {
      const p = await t.newPartner()
      const created = await t.call('POST', '/v1/partner/keys', { key: p.apiKey })
      assert.equal(created.statusCode, 201)
      const second = created.json()
      const list = await t.call('GET', '/v1/partner/keys', { key: second.apiKey })
      assert.equal(list.json().items.length, 2)
      assert.ok(list.json().items.every((k: { prefix: string }) => k.prefix.length === 10))
      const revoke = await t.call('DELETE', `/v1/partner/keys/${p.keyId}`, { key: second.apiKey })
      assert.equal(revoke.statusCode, 204)
      assert.equal((await t.call('GET', '/v1/connectors', { key: p.apiKey })).statusCode, 401)
      assert.equal((await t.call('GET', '/v1/connectors', { key: second.apiKey })).statusCode, 200)
      const again = await t.call('DELETE', `/v1/partner/keys/${p.keyId}`, { key: second.apiKey })
      assert.equal(again.statusCode, 404)
      const self = await t.call('DELETE', `/v1/partner/keys/${second.id}`, { key: second.apiKey })
      assert.equal(self.statusCode, 409)
    })

    test("another partner's key id is a 404, never a 403", async () => {
      const a = await t.newPartner('A')
      const b = await t.newPartner('B')
      const res = await t.call('DELETE', `/v1/partner/keys/${a.keyId}`, { key: b.apiKey })
      assert.equal(res.statusCode, 404)
      assert.equal((await t.call('GET', '/v1/connectors', { key: a.apiKey })).statusCode, 200)
    })

    test('the plan limits custom connectors: none allowed, then a maximum', async () => {
      const p = await t.newPartner('Planned', { plan: { allowCustomConnectors: false } })
      const refused = await t.call('POST', '/v1/connectors', { key: p.apiKey, body: { name: 'CRM' } })
      assert.equal(refused.statusCode, 403)
      assert.equal(refused.json().error.code, 'PLAN_LIMIT')
      assert.match(refused.json().error.message, /plan does not include custom connectors/)

      const patched = await t.call('PATCH', `/v1/partners/${p.id}`, { key: ADMIN_TOKEN, body: { plan: { allowCustomConnectors: true, maxCustomConnectors: 1 } } })
      assert.equal(patched.statusCode, 200)
      assert.deepEqual(patched.json().plan, { allowCustomConnectors: true, maxCustomConnectors: 1 })
      assert.equal((await t.call('POST', '/v1/connectors', { key: p.apiKey, body: { name: 'CRM' } })).statusCode, 201)
      const over = await t.call('POST', '/v1/connectors', { key: p.apiKey, body: { name: 'CRM 2' } })
      assert.equal(over.statusCode, 403)
      assert.match(over.json().error.message, /at most 1 custom connector; 1 exist/)
      const owned = (await t.call('GET', '/v1/connectors', { key: p.apiKey })).json().items.filter((c: { builtIn: boolean }) => !c.builtIn)
      assert.equal(owned.length, 1, 'the refused create changed nothing')
    })

    test('a partner cannot change its own plan', async () => {
      const p = await t.newPartner()
      const res = await t.call('PATCH', '/v1/partner', { key: p.apiKey, body: { plan: { maxCustomConnectors: 100 } } })
      assert.equal(res.statusCode, 400)
      assert.match(res.json().error.message, /unknown property "plan"/)
      const own = await t.call('PATCH', '/v1/partner', { key: p.apiKey, body: { enableBetaConnectors: true } })
      assert.equal(own.statusCode, 200)
      assert.equal(own.json().enableBetaConnectors, true)
    })

    test('admin partner routes validate input', async () => {
      const res = await t.call('POST', '/v1/partners', { key: ADMIN_TOKEN, body: { name: '' } })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.details[0].path, 'body.name')
      const neg = await t.call('PATCH', '/v1/partners/ptr_nope', { key: ADMIN_TOKEN, body: { name: 'x' } })
      assert.equal(neg.statusCode, 404)
    })
  })
}

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'

for (const dialect of dialects()) {
  describe(`accounts [${dialect}]`, () => {
    let t: TestApp
    let key: string
    before(async () => {
      t = await startTestApp(dialect)
      key = (await t.newPartner()).apiKey
    })
    after(() => t.close())

    const create = (body: object, k = key) => t.call('POST', '/v1/accounts', { key: k, body })

    test('create, show, update and delete an account', async () => {
      const res = await create({ name: 'Globex', externalId: 'cust-1', timezone: 'Europe/London', description: 'A customer' })
      assert.equal(res.statusCode, 201, res.body)
      const a = res.json()
      assert.match(a.id, /^acc_/)
      assert.deepEqual({ name: a.name, externalId: a.externalId, timezone: a.timezone, parentId: a.parentId, description: a.description }, { name: 'Globex', externalId: 'cust-1', timezone: 'Europe/London', parentId: null, description: 'A customer' })
      assert.equal(a.partnerId, undefined, 'no internal fields')

      const shown = await t.call('GET', `/v1/accounts/${a.id}`, { key })
      assert.equal(shown.statusCode, 200)
      assert.deepEqual(shown.json(), a)

      const patched = await t.call('PATCH', `/v1/accounts/${a.id}`, { key, body: { name: 'Globex Corp', timezone: 'america/new_york', externalId: null } })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.equal(patched.json().name, 'Globex Corp')
      assert.equal(patched.json().timezone, 'America/New_York', 'stored under its canonical name')
      assert.equal(patched.json().externalId, null)

      assert.equal((await t.call('DELETE', `/v1/accounts/${a.id}`, { key })).statusCode, 204)
      assert.equal((await t.call('GET', `/v1/accounts/${a.id}`, { key })).statusCode, 404)
    })

    test('the time zone defaults to UTC and must be an IANA name', async () => {
      const plain = await create({ name: 'Default TZ' })
      assert.equal(plain.statusCode, 201)
      assert.equal(plain.json().timezone, 'UTC')
      for (const timezone of ['Mars/Olympus', '+02:00', 'GMT+2 ', 'Europe/London; drop table', '']) {
        const res = await create({ name: 'Bad TZ', timezone })
        assert.equal(res.statusCode, 400, timezone)
        assert.equal(res.json().error.code, 'BAD_REQUEST')
      }
      const bad = await create({ name: 'Bad TZ', timezone: 'Mars/Olympus' })
      assert.match(bad.json().error.message, /IANA time zone/)
      const patch = await t.call('PATCH', `/v1/accounts/${plain.json().id}`, { key, body: { timezone: 'Nowhere/Special' } })
      assert.equal(patch.statusCode, 400)
    })

    test('externalId is unique per partner, not across partners', async () => {
      assert.equal((await create({ name: 'One', externalId: 'dup-1' })).statusCode, 201)
      const again = await create({ name: 'Two', externalId: 'dup-1' })
      assert.equal(again.statusCode, 409)
      assert.equal(again.json().error.code, 'EXTERNAL_ID_TAKEN')
      const other = await t.newPartner('Other')
      assert.equal((await create({ name: 'Elsewhere', externalId: 'dup-1' }, other.apiKey)).statusCode, 201, 'another partner may use the same externalId')
      const second = await create({ name: 'Two', externalId: 'dup-2' })
      const clash = await t.call('PATCH', `/v1/accounts/${second.json().id}`, { key, body: { externalId: 'dup-1' } })
      assert.equal(clash.statusCode, 409)
      assert.equal(clash.json().error.code, 'EXTERNAL_ID_TAKEN')
      const same = await t.call('PATCH', `/v1/accounts/${second.json().id}`, { key, body: { externalId: 'dup-2', name: 'Two again' } })
      assert.equal(same.statusCode, 200, 'keeping its own externalId is fine')
    })

    test('the list is paged and filters by name and externalId', async () => {
      const p = await t.newPartner('Lister')
      for (const [name, externalId] of [['Alpha Ltd', 'x-1'], ['Beta Inc', 'x-2'], ['alphabet', 'x-3'], ['Gamma', null], ['100% Real_Co', 'x-5']] as const) {
        assert.equal((await create({ name, externalId }, p.apiKey)).statusCode, 201)
      }
      const names = async (qs: string) => ((await t.call('GET', `/v1/accounts${qs}`, { key: p.apiKey })).json().items as { name: string }[]).map((a) => a.name)
      assert.deepEqual(await names(''), ['Alpha Ltd', 'Beta Inc', 'alphabet', 'Gamma', '100% Real_Co'])
      assert.deepEqual(await names('?name=ALPHA'), ['Alpha Ltd', 'alphabet'], 'case-insensitive part of the name')
      assert.deepEqual(await names('?name=%25'), ['100% Real_Co'], '% is literal')
      assert.deepEqual(await names('?name=h_'), [], '_ is literal')
      assert.deepEqual(await names('?name=l_c'), ['100% Real_Co'])
      assert.deepEqual(await names('?externalId=x-2'), ['Beta Inc'])
      assert.deepEqual(await names('?externalId=nope'), [])

      const page1 = (await t.call('GET', '/v1/accounts?limit=2', { key: p.apiKey })).json()
      assert.equal(page1.items.length, 2)
      assert.ok(page1.nextCursor)
      const page2 = (await t.call('GET', `/v1/accounts?limit=2&after=${page1.nextCursor}`, { key: p.apiKey })).json()
      const page3 = (await t.call('GET', `/v1/accounts?limit=2&after=${page2.nextCursor}`, { key: p.apiKey })).json()
      assert.deepEqual([...page1.items, ...page2.items, ...page3.items].map((a: { name: string }) => a.name), await names(''))
      assert.equal(page3.nextCursor, null)
    })

    test('a sub-account has a parent of the same partner; cycles and deleting a parent are refused', async () => {
      const parent = (await create({ name: 'Parent' })).json()
      const child = await create({ name: 'Child', parentId: parent.id })
      assert.equal(child.statusCode, 201)
      assert.equal(child.json().parentId, parent.id)
      const grandchild = (await create({ name: 'Grandchild', parentId: child.json().id })).json()

      const subs = (await t.call('GET', `/v1/accounts?parentId=${parent.id}`, { key })).json().items
      assert.deepEqual(subs.map((a: { id: string }) => a.id), [child.json().id])

      const cycle = await t.call('PATCH', `/v1/accounts/${parent.id}`, { key, body: { parentId: grandchild.id } })
      assert.equal(cycle.statusCode, 400)
      assert.match(cycle.json().error.message, /cycle/)
      const self = await t.call('PATCH', `/v1/accounts/${parent.id}`, { key, body: { parentId: parent.id } })
      assert.equal(self.statusCode, 400)

      const del = await t.call('DELETE', `/v1/accounts/${parent.id}`, { key })
      assert.equal(del.statusCode, 409)
      assert.equal(del.json().error.code, 'ACCOUNT_HAS_SUBACCOUNTS')

      const other = await t.newPartner('Foreign')
      const foreignParent = (await create({ name: 'Foreign parent' }, other.apiKey)).json()
      const stolen = await create({ name: 'Sneaky', parentId: foreignParent.id })
      assert.equal(stolen.statusCode, 404, "another partner's account is not a parent")
      const moved = await t.call('PATCH', `/v1/accounts/${grandchild.id}`, { key, body: { parentId: null } })
      assert.equal(moved.json().parentId, null)
    })

    test("another partner's account is a 404 everywhere", async () => {
      const other = await t.newPartner('Nosy')
      const mine = (await create({ name: 'Private', externalId: 'secret-ext' })).json()
      for (const [method, url, body] of [
        ['GET', `/v1/accounts/${mine.id}`],
        ['PATCH', `/v1/accounts/${mine.id}`, { name: 'Taken' }],
        ['DELETE', `/v1/accounts/${mine.id}`],
        ['GET', `/v1/accounts/${mine.id}/connectors`],
        ['POST', `/v1/accounts/${mine.id}/connectors`, { connectorId: 'con_x' }],
      ] as const) {
        const res = await t.call(method, url, { key: other.apiKey, body })
        assert.equal(res.statusCode, 404, `${method} ${url}`)
        assert.equal(res.json().error.code, 'NOT_FOUND')
      }
      const listed = (await t.call('GET', '/v1/accounts?externalId=secret-ext', { key: other.apiKey })).json()
      assert.deepEqual(listed.items, [])
      assert.equal((await t.call('GET', `/v1/accounts/${mine.id}`, { key })).json().name, 'Private', 'unchanged')
    })

    test('bad input is a 400 naming the field; the routes need a key', async () => {
      const unknown = await create({ name: 'X', colour: 'red' })
      assert.equal(unknown.statusCode, 400)
      assert.match(unknown.json().error.message, /colour/)
      assert.equal((await create({})).statusCode, 400)
      assert.equal((await t.call('PATCH', '/v1/accounts/acc_x', { key, body: {} })).statusCode, 400)
      assert.equal((await t.call('GET', '/v1/accounts')).statusCode, 401)
    })
  })
}

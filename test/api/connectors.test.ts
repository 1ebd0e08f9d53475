import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApp, type TestApp } from '../helpers/app.js'
import { dialects } from '../helpers/databases.js'
import { corruptPng, jpegHeader, makePng, truncatedPng } from '../helpers/images.js'

for (const dialect of dialects()) {
  describe(`connectors [${dialect}]`, () => {
    let t: TestApp
    let key: string
    before(async () => {
      t = await startTestApp(dialect)
      key = (await t.newPartner()).apiKey
    })
    after(() => t.close())

    test('create, show, list, update, delete', async () => {
      const created = await t.call('POST', '/v1/connectors', { key, body: { name: 'Pipeline CRM', description: 'Sales pipeline', apiVersion: 'v3' } })
      assert.equal(created.statusCode, 201)
      const c = created.json()
      assert.match(c.id, /^con_/)
      assert.equal(c.builtIn, false)
      assert.equal(c.hasIcon, false)
      assert.equal(c.partnerId, undefined, 'internal tenant column is not exposed')

      const shown = await t.call('GET', `/v1/connectors/${c.id}`, { key })
      assert.deepEqual(shown.json(), c)

      const listed = await t.call('GET', '/v1/connectors', { key })
      assert.ok(listed.json().items.some((x: { id: string }) => x.id === c.id))

      const updated = await t.call('PATCH', `/v1/connectors/${c.id}`, { key, body: { description: 'CRM for teams', apiVersion: null } })
      assert.equal(updated.statusCode, 200)
      assert.equal(updated.json().description, 'CRM for teams')
      assert.equal(updated.json().apiVersion, null)
      assert.equal(updated.json().name, 'Pipeline CRM')

      assert.equal((await t.call('DELETE', `/v1/connectors/${c.id}`, { key })).statusCode, 204)
      assert.equal((await t.call('GET', `/v1/connectors/${c.id}`, { key })).statusCode, 404)
    })

    test('list pages with a cursor and filters by name', async () => {
      const p = await t.newPartner('Pager')
      for (let i = 0; i < 5; i++) await t.call('POST', '/v1/connectors', { key: p.apiKey, body: { name: `Paged ${i}` } })
      const first = (await t.call('GET', '/v1/connectors?limit=3', { key: p.apiKey })).json()
      assert.equal(first.items.length, 3)
      assert.ok(first.nextCursor)
      const second = (await t.call('GET', `/v1/connectors?limit=3&after=${first.nextCursor}`, { key: p.apiKey })).json()
      const ids = [...first.items, ...second.items].map((c: { id: string }) => c.id)
      assert.equal(new Set(ids).size, ids.length, 'no connector twice')
      assert.equal(ids.length, 6, '5 own + the built-in library')
      const filtered = (await t.call('GET', '/v1/connectors?name=Paged%203', { key: p.apiKey })).json()
      assert.deepEqual(filtered.items.map((c: { name: string }) => c.name), ['Paged 3'])
    })

    test("another partner's connector is a 404 for every verb", async () => {
      const other = await t.newPartner('Other')
      const c = (await t.call('POST', '/v1/connectors', { key: other.apiKey, body: { name: 'Secret' } })).json()
      assert.equal((await t.call('GET', `/v1/connectors/${c.id}/releases`, { key: other.apiKey })).statusCode, 200, 'the owner lists (and warms any read cache)')
      const attempts: Array<[string, string, unknown?]> = [
        ['GET', `/v1/connectors/${c.id}`],
        ['PATCH', `/v1/connectors/${c.id}`, { name: 'Mine' }],
        ['DELETE', `/v1/connectors/${c.id}`],
        ['GET', `/v1/connectors/${c.id}/icon`],
        ['GET', `/v1/connectors/${c.id}/releases`],
        ['GET', `/v1/connectors/${c.id}/history`],
        ['POST', `/v1/connectors/${c.id}/releases`, {}],
      ]
      for (const [m, url, body] of attempts) {
        const res = await t.call(m, url, { key, body })
        assert.equal(res.statusCode, 404, `${m} ${url}`)
        assert.equal(res.json().error.code, 'NOT_FOUND')
      }
      const icon = await t.app.inject({ method: 'PUT', url: `/v1/connectors/${c.id}/icon`, headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, payload: makePng() })
      assert.equal(icon.statusCode, 404)
      assert.equal((await t.call('GET', `/v1/connectors/${c.id}`, { key: other.apiKey })).json().name, 'Secret', 'unchanged')
      const mine = (await t.call('GET', '/v1/connectors', { key })).json().items
      assert.ok(!mine.some((x: { id: string }) => x.id === c.id), 'not listed')
    })

    test('the built-in library is visible to every partner and changeable by none', async () => {
      const lib = (await t.call('GET', '/v1/connectors', { key })).json().items.find((c: { builtIn: boolean }) => c.builtIn)
      assert.ok(lib, 'a library connector is listed')
      const releases = (await t.call('GET', `/v1/connectors/${lib.id}/releases`, { key })).json().items
      assert.ok(releases.some((r: { state: string; version: string }) => r.state === 'live' && r.version === '1.0'))
      for (const [m, url, body] of [
        ['PATCH', `/v1/connectors/${lib.id}`, { name: 'Mine' }],
        ['DELETE', `/v1/connectors/${lib.id}`],
        ['POST', `/v1/connectors/${lib.id}/releases`, { from: 'live' }],
      ] as Array<[string, string, unknown?]>) {
        const res = await t.call(m, url, { key, body })
        assert.equal(res.statusCode, 403, `${m} ${url}`)
        assert.equal(res.json().error.code, 'READ_ONLY')
      }
      const liveId = releases[0].id
      const push = await t.call('POST', `/v1/connectors/${lib.id}/releases/${liveId}/push`, { key, body: { kind: 'major' } })
      assert.equal(push.statusCode, 403)
      assert.equal((await t.call('GET', `/v1/connectors/${lib.id}`, { key })).json().name, lib.name)
    })

    describe('icon', () => {
      let cid: string
      before(async () => {
        cid = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Iconic' } })).json().id
      })
      const put = (payload: Buffer, type = 'image/png') =>
        t.app.inject({ method: 'PUT', url: `/v1/connectors/${cid}/icon`, headers: { authorization: `Bearer ${key}`, 'content-type': type }, payload })

      test('a 400x400 PNG is stored and served back byte for byte', async () => {
        const png = makePng()
        assert.equal((await put(png)).statusCode, 204)
        const got = await t.call('GET', `/v1/connectors/${cid}/icon`, { key })
        assert.equal(got.statusCode, 200)
        assert.equal(got.headers['content-type'], 'image/png')
        assert.ok(got.rawPayload.equals(png))
        assert.equal((await t.call('GET', `/v1/connectors/${cid}`, { key })).json().hasIcon, true)
      })

      const bad: Array<[string, () => Buffer, RegExp, string?]> = [
        ['wrong size', () => makePng(200, 200), /icon must be a 400x400 PNG; got 200x200 PNG/],
        ['one pixel off', () => makePng(401, 400), /got 401x400 PNG/],
        ['a JPEG', () => jpegHeader(200, 200), /got 200x200 JPEG/],
        ['corrupt image data', corruptPng, /corrupt/],
        ['truncated file', truncatedPng, /corrupt/],
        ['not an image', () => Buffer.from('GIF? no, text'), /not a recognised image/],
        ['over 1 MB', () => Buffer.concat([makePng(), Buffer.alloc(1024 * 1024)]), /at most 1 MB/],
      ]
      for (const [name, make, message] of bad) {
        test(`refuses ${name} with a 400 that says what was wrong`, async () => {
          const before = await t.call('GET', `/v1/connectors/${cid}/icon`, { key })
          const res = await put(make())
          assert.equal(res.statusCode, 400)
          assert.equal(res.json().error.code, 'INVALID_ICON')
          assert.match(res.json().error.message, message)
          const after = await t.call('GET', `/v1/connectors/${cid}/icon`, { key })
          assert.ok(after.rawPayload.equals(before.rawPayload), 'the stored icon is unchanged')
        })
      }

      test('refuses a body that is not image/png (415) and one over 2 MB (413)', async () => {
        const r415 = await put(makePng(), 'image/jpeg')
        assert.equal(r415.statusCode, 415)
        const json = await t.call('PUT', `/v1/connectors/${cid}/icon`, { key, body: { png: 'x' } })
        assert.equal(json.statusCode, 415)
        const r413 = await put(Buffer.alloc(3 * 1024 * 1024))
        assert.equal(r413.statusCode, 413)
        assert.equal(r413.json().error.code, 'PAYLOAD_TOO_LARGE')
      })

      test('a connector without an icon gives 404 on download', async () => {
        const c = (await t.call('POST', '/v1/connectors', { key, body: { name: 'Plain' } })).json()
        const res = await t.call('GET', `/v1/connectors/${c.id}/icon`, { key })
        assert.equal(res.statusCode, 404)
      })
    })
  })
}

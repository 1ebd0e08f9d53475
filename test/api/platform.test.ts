import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { ERROR_CODES } from '../../src/errors/errors.js'
import { startTestApp, type TestApp } from '../helpers/app.js'

describe('platform routes', () => {
  let t: TestApp
  before(async () => (t = await startTestApp('sqlite')))
  after(() => t.close())

  test('GET /healthz answers without a key', async () => {
    const res = await t.call('GET', '/healthz')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { status: 'ok' })
  })

  test('GET /openapi.json documents the v1 routes', async () => {
    const res = await t.call('GET', '/openapi.json')
    assert.equal(res.statusCode, 200)
    const doc = res.json()
    assert.equal(doc.openapi, '3.0.3')
    for (const path of ['/v1/partners/', '/v1/connectors/', '/v1/connectors/{cid}/releases/{rid}/push', '/v1/connectors/{cid}/icon']) {
      assert.ok(doc.paths[path] ?? doc.paths[path.replace(/\/$/, '')], `${path} in ${Object.keys(doc.paths).join(', ')}`)
    }
  })

  test('GET /docs serves the interactive documentation', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' })
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /swagger/i)
  })

  test('docs/errors.md lists every error code', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    for (const code of Object.keys(ERROR_CODES)) assert.ok(doc.includes(`\`${code}\``), `${code} is documented`)
  })
})

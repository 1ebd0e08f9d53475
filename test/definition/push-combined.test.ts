import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import { assertProblem, loadRelease, method, methodIndex } from '../fixtures/definitions/index.js'

test('shape and semantic problems are reported together', () => {
  const r = loadRelease()
  ;(r.settings as { status: string }).status = 'Released'
  const account = methodIndex(r, 'get-account')
  method(r, 'get-me').id = 'get-account'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/settings/status', 'must be one of Unknown, Approved, Beta, Planned (got "Released")')
  assertProblem(problems, `/definition/methods/${account}/id`, 'duplicate method id "get-account"')
  assertProblem(problems, '/settings/postInstallTestAuthMethod', 'must name a method of this release (got "get-me")')
})

test('malformed input never crashes the push rules', () => {
  const inputs: unknown[] = [
    'definition',
    42,
    null,
    { methods: 'all' },
    { methods: [null, 1, 'x', [], { id: 5, http: 'GET /x', parameters: 'page', request: [], response: { fields: {} } }] },
    { parameters: [{ name: 1, target: 'responseField', value: 5 }], lookups: [{ name: {}, method: [] }], authentications: [{ type: 'authFields', fields: 'x' }, { type: 'oauth2', extraTokenParams: 'x' }] },
    { baseUrl: {}, paging: 'on', webhookRouting: { key: 'x', match: [], signature: 'y', dedupe: 1 } },
    { methods: [{ id: 'a', name: 'A', http: { method: 'GET', path: '/{{', headers: [] }, paging: { inbound: true }, webhook: { eventType: 'x' } }] },
  ]
  for (const definition of inputs) {
    for (const settings of [undefined, 'x', { inboundPaging: true, useSingularPartnerWebhookUrl: true, postInstallTestAuthMethod: 7 }]) {
      const problems = checkReleaseForPush({ settings, definition })
      assert.ok(problems.length > 0, `expected problems for ${JSON.stringify({ settings, definition })}`)
      for (const p of problems) assert.equal(typeof p.message, 'string')
    }
  }
})

test('problems are unique', () => {
  const r = loadRelease()
  for (const m of r.definition.methods) m.type = 'bogus' as 'action'
  const problems = checkReleaseForPush(r)
  const keys = problems.map((p) => `${p.path}|${p.message}`)
  assert.equal(new Set(keys).size, keys.length)
  assert.ok(problems.length >= r.definition.methods.length)
})

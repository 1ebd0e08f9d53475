import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkDefinitionShape, checkReleaseForPush, checkSettingsShape, checkShape } from '../../src/definition/validate.js'
import { assertNoProblems, assertProblem, loadRelease } from '../fixtures/definitions/index.js'

const problemsAt = (problems: { path: string }[], path: string) => problems.filter((p) => p.path === path)

test('the fixture is well-formed', () => {
  const r = loadRelease()
  assertNoProblems(checkSettingsShape(r.settings))
  assertNoProblems(checkDefinitionShape(r.definition))
})

test('every component is reported, not just the first bad one', () => {
  // TypeBox's own Errors() stops after the authentication problems; the walker must not.
  const problems = checkDefinitionShape({
    authentications: [{ id: 'k', name: 'Key', type: 'apiKey', in: 'cookie' }],
    parameters: [{ name: 'Subdomain', target: 'path' }],
    methods: [{ id: 'a', name: 'A', type: 'actio' }, { id: 'b', name: 'B', http: { method: 'GTE', path: '/b' } }],
    lookups: [{ name: 'L', method: 'a', valuePath: 'id' }],
    paging: { maxPages: 0 },
    rateLimits: { requestsPerSecond: -1 },
  })
  assertProblem(problems, '/definition/authentications/0/in', 'must be one of header, query (got "cookie")')
  assertProblem(problems, '/definition/parameters/0/target', 'must be one of header, query, mergeField, body, responseField, script (got "path")')
  assertProblem(problems, '/definition/methods/0/type', 'must be one of action, webhook, script (got "actio")')
  assertProblem(problems, '/definition/methods/1/http/method', 'must be one of GET, POST, PUT, PATCH, DELETE, HEAD (got "GTE")')
  assertProblem(problems, '/definition/lookups/0/labelPath', 'required property "labelPath" is missing')
  assertProblem(problems, '/definition/paging/maxPages', 'must be at least 1 (got 0)')
  assertProblem(problems, '/definition/rateLimits/requestsPerSecond', 'must be greater than 0 (got -1)')
  assert.equal(problems.length, 7, 'one problem per mistake')
})

test('a literal union is one readable problem, not one per member', () => {
  const problems = checkDefinitionShape({ methods: [{ id: 'a', name: 'A', type: 'actio' }] })
  assert.deepEqual(problemsAt(problems, '/definition/methods/0/type'), [{ path: '/definition/methods/0/type', message: 'must be one of action, webhook, script (got "actio")' }])
})

test('release settings: status and sizes', () => {
  const problems = checkSettingsShape({ status: 'Released', inboundPageSize: 0, outboundPageSize: 10001, inboundPaging: 'yes' })
  assertProblem(problems, '/settings/status', 'must be one of Unknown, Approved, Beta, Planned (got "Released")')
  assertProblem(problems, '/settings/inboundPageSize', 'must be at least 1 (got 0)')
  assertProblem(problems, '/settings/outboundPageSize', 'must be at most 10000 (got 10001)')
  assertProblem(problems, '/settings/inboundPaging', 'must be a boolean (got "yes")')
  assertProblem(checkSettingsShape({ inboundPageSize: 2.5 }), '/settings/inboundPageSize', 'must be an integer (got 2.5)')
  assertProblem(checkSettingsShape({ postInstallTestAuthMethod: '' }), '/settings/postInstallTestAuthMethod', 'must not be empty')
  assertProblem(checkSettingsShape({ comments: 'x'.repeat(10001) }), '/settings/comments', 'must be at most 10000 characters long (got 10001)')
})

test('unknown properties are named, with a suggestion for near-misses', () => {
  const problems = checkDefinitionShape({ methods: [{ id: 'a', name: 'A', foo: 1, descripton: 'x', Category: 'c' }], baseURL: 'https://x' })
  assertProblem(problems, '/definition/methods/0', 'unknown property "foo"')
  assert.ok(!problems.some((p) => p.message.includes('"foo" (did you mean')), 'no suggestion when nothing is close')
  assertProblem(problems, '/definition/methods/0', 'unknown property "descripton" (did you mean "description"?)')
  assertProblem(problems, '/definition/methods/0', 'unknown property "Category" (did you mean "category"?)')
  assertProblem(problems, '/definition', 'unknown property "baseURL" (did you mean "baseUrl"?)')
  assertProblem(checkSettingsShape({ inboundPagesize: 5 }), '/settings', 'unknown property "inboundPagesize" (did you mean "inboundPageSize"?)')
})

test('missing required properties point at the property', () => {
  const problems = checkDefinitionShape({ methods: [{ name: 'No id', http: { method: 'GET' } }] })
  assertProblem(problems, '/definition/methods/0/id', 'required property "id" is missing')
  assertProblem(problems, '/definition/methods/0/http/path', 'required property "path" is missing')
})

test('authentications are checked against the branch their type names', () => {
  const problems = checkDefinitionShape({
    authentications: [
      { id: 'a', name: 'A', type: 'apikey' },
      { id: 'b', name: 'B' },
      { id: 'c', name: 'C', type: 'apiKey', in: 'header', grant: 'password' },
      { id: 'd', name: 'D', type: 'oauth2', grant: 'implicit' },
      { id: 'e', name: 'E', type: 'authFields', fields: [] },
      { id: 'f', name: 'F', type: 'authFields', fields: [{ key: 'Token', target: 'cookie' }] },
      'basic',
    ],
  })
  assertProblem(problems, '/definition/authentications/0/type', 'must be one of none, apiKey, basic, oauth2, authFields (got "apikey")')
  assertProblem(problems, '/definition/authentications/1/type', 'required property "type" is missing (one of none, apiKey, basic, oauth2, authFields)')
  assertProblem(problems, '/definition/authentications/2', 'unknown property "grant"')
  assertProblem(problems, '/definition/authentications/3/grant', 'must be one of authorizationCode, clientCredentials, password (got "implicit")')
  assertProblem(problems, '/definition/authentications/3/tokenUrl', 'required property "tokenUrl" is missing')
  assertProblem(problems, '/definition/authentications/4/fields', 'must have at least 1 item')
  assertProblem(problems, '/definition/authentications/5/fields/0/target', 'must be one of header, query, body (got "cookie")')
  assertProblem(problems, '/definition/authentications/6', 'must be an object (got "basic")')
})

test('types, patterns and lengths', () => {
  const problems = checkDefinitionShape({
    baseUrl: 5,
    definitionVersion: 2,
    methods: [
      {
        id: 'bad id',
        name: '',
        http: { method: 'GET', path: '/x', headers: { 'X-A': 1 } },
        parameters: [{ name: '1st', target: 'query' }],
        request: { fields: [{ location: '', field: 'Amount', type: 'string', default: { a: 1 } }] },
        response: { format: 'yaml', fields: 'id' },
        webhook: { expiresAfterSeconds: 10, eventType: { values: [] } },
      },
      'list-contacts',
    ],
    lookups: {},
    webhookRouting: { key: {}, match: {}, signature: { header: 'X-Sig', algorithm: 'md5', secretProperty: 'S' } },
  })
  assertProblem(problems, '/definition/baseUrl', 'must be a string (got 5)')
  assertProblem(problems, '/definition/definitionVersion', 'must be 1 (got 2)')
  assertProblem(problems, '/definition/methods/0/id', 'must match the pattern ^[A-Za-z0-9][A-Za-z0-9_.-]*$ (got "bad id")')
  assertProblem(problems, '/definition/methods/0/name', 'must not be empty')
  assertProblem(problems, '/definition/methods/0/http/headers/X-A', 'must be a string (got 1)')
  assertProblem(problems, '/definition/methods/0/parameters/0/name', 'must match the pattern ^[A-Za-z_][A-Za-z0-9_]*$ (got "1st")')
  assertProblem(problems, '/definition/methods/0/request/fields/0/location', 'must not be empty')
  assertProblem(problems, '/definition/methods/0/request/fields/0/type', 'must be one of text, integer, float, decimal, boolean, datetime, file (got "string")')
  assertProblem(problems, '/definition/methods/0/request/fields/0/default', 'must be a string, a number or a boolean (got an object)')
  assertProblem(problems, '/definition/methods/0/response/format', 'must be one of json, xml, text (got "yaml")')
  assertProblem(problems, '/definition/methods/0/response/fields', 'must be an array (got "id")')
  assertProblem(problems, '/definition/methods/0/webhook/expiresAfterSeconds', 'must be at least 60 (got 10)')
  assertProblem(problems, '/definition/methods/0/webhook/eventType/values', 'must have at least 1 item')
  assertProblem(problems, '/definition/methods/1', 'must be an object (got "list-contacts")')
  assertProblem(problems, '/definition/lookups', 'must be an array (got an object)')
  assertProblem(problems, '/definition/webhookRouting/signature/algorithm', 'must be one of sha1, sha256, sha512 (got "md5")')
})

test('JSON pointer segments are escaped', () => {
  const problems = checkDefinitionShape({ methods: [{ id: 'a', name: 'A', http: { method: 'GET', path: '/', headers: { 'a/b~c': 2 } } }] })
  assertProblem(problems, '/definition/methods/0/http/headers/a~1b~0c', 'must be a string (got 2)')
})

test('no problem is reported twice', () => {
  const bad = { methods: Array.from({ length: 3 }, () => ({ id: 'x', name: 'X', type: 'nope', foo: 1, http: { method: 'NO', path: 1 } })) }
  const problems = checkDefinitionShape(bad)
  const keys = problems.map((p) => `${p.path} ${p.message}`)
  assert.equal(new Set(keys).size, keys.length)
  assert.equal(problems.length, 12)
})

test('absent (or null) definition or settings are empty; other non-objects are refused', () => {
  assertNoProblems(checkDefinitionShape(undefined))
  assertNoProblems(checkSettingsShape(undefined))
  assertNoProblems(checkSettingsShape(null)) // YAML "settings:" with nothing after it
  assertNoProblems(checkDefinitionShape({}))
  assertProblem(checkDefinitionShape('methods: []'), '/definition', 'must be an object (got "methods: []")')
  assertProblem(checkDefinitionShape([]), '/definition', 'must be an object (got an array)')
  assertProblem(checkSettingsShape(7), '/settings', 'must be an object (got 7)')
})

test('a draft may be incomplete but well-formed; push then reports what is missing', () => {
  const draft = { settings: { status: 'Beta' }, definition: { methods: [{ id: 'list-contacts', name: 'List Contacts' }] } }
  assertNoProblems(checkDefinitionShape(draft.definition))
  assertProblem(checkReleaseForPush(draft), '/definition/methods/0/http', 'required for an action method')
})

test('components can be checked on their own, under any base path', () => {
  assertNoProblems(checkShape('parameter', { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}' }))
  assertProblem(checkShape('parameter', { name: 'page', target: 'query', scope: 'global' }, '/x'), '/x/scope', 'must be one of account, partner, fixed, step (got "global")')
  assertProblem(checkShape('field', { field: 'Email' }), '/location', 'required property "location" is missing')
  assertProblem(checkShape('method', { id: 'a', name: 'A', paging: { outboundPageSize: 0 } }, '/m'), '/m/paging/outboundPageSize', 'must be at least 1 (got 0)')
  assertProblem(checkShape('authentication', { id: 'n', name: 'N', type: 'none', header: 'X' }), '', 'unknown property "header"')
  assertProblem(checkShape('lookup', { name: 'L', method: '', valuePath: 'id', labelPath: 'n' }), '/method', 'must not be empty')
  assertProblem(checkShape('paging', { totalCountPath: 3 }), '/totalCountPath', 'must be a string (got 3)')
  assertProblem(checkShape('rateLimits', { secondsBetweenRequests: 100000 }), '/secondsBetweenRequests', 'must be at most 86400 (got 100000)')
  assertProblem(checkShape('webhookRouting', { key: { location: 'a' } }), '/match', 'required property "match" is missing')
  assertNoProblems(checkShape('settings', { status: 'Planned' }))
})

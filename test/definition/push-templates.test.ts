import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import { BUILT_IN_VARIABLES } from '../../src/definition/variables.js'
import { assertNoProblems, assertProblem, loadRelease, method, methodIndex } from '../fixtures/definitions/index.js'

const m = (id: string) => `/definition/methods/${methodIndex(loadRelease(), id)}`

test('baseUrl may use connector parameters, auth variables and built-ins only', () => {
  const r = loadRelease()
  r.definition.baseUrl = 'https://{{SubDomain}}.acmecrm.example/{{Region}}/{{PAGE_NUMBER}}/{{AccountId}}/{{ApiKey}}'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/definition/baseUrl', 'unknown variable {{SubDomain}}: not one of the connector parameters, auth and built-in variables (did you mean {{Subdomain}}?)')
  assertProblem(problems, '/definition/baseUrl', 'unknown variable {{Region}}')
  assertProblem(problems, '/definition/baseUrl', 'unknown variable {{PAGE_NUMBER}}: not one of the connector parameters, auth and built-in variables (paging variables belong in parameter values and method paths)')
  assert.equal(problems.length, 3, 'AccountId and ApiKey resolve')
})

test('method paths resolve against method parameters and request fields', () => {
  const r = loadRelease()
  method(r, 'get-contact').http!.path = '/contacts/{{ContactID}}'
  method(r, 'create-contact').http!.path = '/owners/{{OwnerId}}/contacts'
  method(r, 'get-me').http!.path = '/users/{{ContactId}}'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('get-contact')}/http/path`, 'unknown variable {{ContactID}}: not one of the parameters, request fields, auth, paging and built-in variables (did you mean {{ContactId}}?)')
  assert.ok(!problems.some((p) => p.path === `${m('create-contact')}/http/path`), 'a request field resolves')
  assertProblem(problems, `${m('get-me')}/http/path`, 'unknown variable {{ContactId}}')
})

test('method parameter values and headers are checked', () => {
  const r = loadRelease()
  method(r, 'list-contacts').parameters![2].value = '{{LastRunDate}}'
  method(r, 'get-me').http!.headers = { 'X-Trace': '{{TransactionId}}', 'X-Who': '{{Whom}}' }
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('list-contacts')}/parameters/2/value`, 'unknown variable {{LastRunDate}}')
  assertProblem(problems, `${m('get-me')}/http/headers/X-Who`, 'unknown variable {{Whom}}')
  assert.ok(!problems.some((p) => p.path.endsWith('X-Trace')))
})

test('connector parameter values may use paging variables but not method names', () => {
  const r = loadRelease()
  r.definition.parameters!.push({ name: 'pageSize', target: 'query', value: '{{PAGE_SIZE}}', hidden: true })
  r.definition.parameters!.push({ name: 'contact', target: 'header', value: '{{ContactId}}' })
  const problems = checkReleaseForPush(r)
  assert.ok(!problems.some((p) => p.path === '/definition/parameters/2/value'))
  assertProblem(problems, '/definition/parameters/3/value', 'unknown variable {{ContactId}}: not one of the connector parameters, auth, paging and built-in variables')
})

test('authentication templates: apiKey value and OAuth2 URLs and parameters', () => {
  const r = loadRelease()
  r.definition.authentications = [
    { id: 'key', name: 'Key', type: 'apiKey', in: 'header', header: 'Authorization', value: 'Token {{APIKey}}' },
    {
      id: 'oauth',
      name: 'OAuth',
      type: 'oauth2',
      grant: 'authorizationCode',
      authorizeUrl: 'https://{{Subdomian}}.acmecrm.example/authorize',
      tokenUrl: 'https://{{Subdomain}}.acmecrm.example/token',
      refreshUrl: 'https://{{Host}}/refresh',
      extraAuthorizeParams: { audience: '{{Audience}}' },
      extraTokenParams: { account: '{{ExternalAccountId}}' },
    },
    { id: 'fields', name: 'Fields', type: 'authFields', fields: [{ key: 'Secret', target: 'header' }] },
  ]
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/definition/authentications/0/value', 'unknown variable {{APIKey}}: not one of the connector parameters, auth and built-in variables (did you mean {{ApiKey}}?)')
  assertProblem(problems, '/definition/authentications/1/authorizeUrl', 'unknown variable {{Subdomian}}')
  assertProblem(problems, '/definition/authentications/1/refreshUrl', 'unknown variable {{Host}}')
  assertProblem(problems, '/definition/authentications/1/extraAuthorizeParams/audience', 'unknown variable {{Audience}}')
  assert.equal(problems.length, 4)
})

test('auth variables and authFields keys resolve in parameter values', () => {
  const r = loadRelease()
  r.definition.authentications!.push({ id: 'fields', name: 'Fields', type: 'authFields', fields: [{ key: 'Secret', target: 'header' }] })
  r.definition.parameters!.push({ name: 'Sig', target: 'header', value: '{{Secret}}:{{Username}}:{{Password}}:{{AccessToken}}:{{ApiKey}}' })
  assertNoProblems(checkReleaseForPush(r))
})

test('every built-in variable resolves in a method', () => {
  const r = loadRelease()
  method(r, 'get-me').parameters = Object.keys(BUILT_IN_VARIABLES).map((name, i) => ({ name: `p${i}`, target: 'query' as const, value: `{{${name}}}` }))
  assertNoProblems(checkReleaseForPush(r))
})

test('only LastSuccessfulRunDate accepts format=', () => {
  const r = loadRelease()
  method(r, 'list-contacts').parameters![2].value = '{{LastSuccessfulRunDate format=unix}}'
  method(r, 'get-me').parameters = [{ name: 'q', target: 'query', value: '{{AccountId format=x}}' }]
  const problems = checkReleaseForPush(r)
  assert.ok(!problems.some((p) => p.path.startsWith(m('list-contacts'))))
  assertProblem(problems, `${m('get-me')}/parameters/0/value`, '{{AccountId format=x}}: only LastSuccessfulRunDate accepts format=')
})

test('malformed placeholders are problems', () => {
  const r = loadRelease()
  method(r, 'get-contact').http!.path = '/contacts/{{ContactId'
  method(r, 'get-me').http!.path = '/me/{{my-id}}'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('get-contact')}/http/path`, 'unclosed "{{"')
  assertProblem(problems, `${m('get-me')}/http/path`, '{{my-id}} is not a valid variable reference')
})

test("a method's own parameters do not leak into other methods", () => {
  const r = loadRelease()
  method(r, 'list-notes').parameters!.push({ name: 'folder', target: 'query', value: '{{pipeline}}' })
  assertProblem(checkReleaseForPush(r), `${m('list-notes')}/parameters/1/value`, 'unknown variable {{pipeline}}')
})

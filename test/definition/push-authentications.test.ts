import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import type { Authentication } from '../../src/definition/schema.js'
import { assertNoProblems, assertProblem, loadRelease } from '../fixtures/definitions/index.js'

const withAuths = (...auths: Authentication[]) => {
  const r = loadRelease()
  r.definition.authentications = auths
  return checkReleaseForPush(r)
}

const key: Authentication = { id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key' }
const basic: Authentication = { id: 'basic', name: 'Password', type: 'basic' }

test('authentication ids are unique', () => {
  assertProblem(withAuths(key, { ...basic, id: 'key' }), '/definition/authentications/1/id', 'duplicate authentication id "key" (first at /definition/authentications/0)')
})

test('at most one authentication is the default', () => {
  const problems = withAuths({ ...key, default: true }, { ...basic, default: true }, { id: 'none', name: 'None', type: 'none', default: true })
  assertProblem(problems, '/definition/authentications/1/default', 'only one authentication may be the default ("key" already is)')
  assertProblem(problems, '/definition/authentications/2/default', 'only one authentication may be the default ("key" already is)')
  assert.ok(!problems.some((p) => p.path === '/definition/authentications/0/default'))
})

test('several authentications with none marked default is fine (the first is the default)', () => {
  assertNoProblems(withAuths(key, basic))
  assertNoProblems(withAuths(key, { ...basic, default: true }))
  assertNoProblems(withAuths({ ...key, default: false }))
  assertNoProblems(withAuths())
})

test('an apiKey in a header needs the header name', () => {
  assertProblem(withAuths({ id: 'key', name: 'Key', type: 'apiKey', in: 'header' }), '/definition/authentications/0/header', 'required when in is header')
  assertProblem(withAuths({ id: 'key', name: 'Key', type: 'apiKey', in: 'header', query: 'key' }), '/definition/authentications/0/header', 'required when in is header')
})

test('an apiKey in the query needs the parameter name', () => {
  assertProblem(withAuths({ id: 'key', name: 'Key', type: 'apiKey', in: 'query' }), '/definition/authentications/0/query', 'required when in is query')
  assertNoProblems(withAuths({ id: 'key', name: 'Key', type: 'apiKey', in: 'query', query: 'api_key' }))
})

test('the oauth2 authorization-code grant needs an authorize URL; other grants do not', () => {
  const oauth = { id: 'o', name: 'OAuth', type: 'oauth2', tokenUrl: 'https://x/token' } as const
  assertProblem(withAuths({ ...oauth, grant: 'authorizationCode' }), '/definition/authentications/0/authorizeUrl', 'required for the authorizationCode grant')
  assertNoProblems(withAuths({ ...oauth, grant: 'clientCredentials' }))
  assertNoProblems(withAuths({ ...oauth, grant: 'password' }))
})

test('authFields keys are unique within an authentication', () => {
  const problems = withAuths({
    id: 'fields',
    name: 'Token and secret',
    type: 'authFields',
    fields: [
      { key: 'Token', target: 'header', targetName: 'X-Token' },
      { key: 'Token', target: 'query' },
    ],
  })
  assertProblem(problems, '/definition/authentications/0/fields/1/key', 'duplicate auth field key "Token"')
})

import { test } from 'node:test'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import { assertNoProblems, assertProblem, loadRelease, method, methodIndex } from '../fixtures/definitions/index.js'

test('connector parameter names are unique', () => {
  const r = loadRelease()
  r.definition.parameters!.push({ name: 'Subdomain', target: 'header' })
  assertProblem(checkReleaseForPush(r), '/definition/parameters/2/name', 'duplicate parameter name "Subdomain" (first at /definition/parameters/0)')
})

test('a method parameter may reuse a connector parameter name (it overrides it)', () => {
  const r = loadRelease()
  method(r, 'get-me').parameters = [{ name: 'ApiVersion', target: 'header', targetName: 'X-Acme-Version', scope: 'fixed', value: '2023-06' }]
  assertNoProblems(checkReleaseForPush(r))
})

test('a fixed parameter cannot be sensitive', () => {
  const r = loadRelease()
  r.definition.parameters![1].sensitive = true
  method(r, 'create-webhook').parameters![1].sensitive = true
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/definition/parameters/1/sensitive', 'a fixed parameter cannot be sensitive')
  assertProblem(problems, `/definition/methods/${methodIndex(r, 'create-webhook')}/parameters/1/sensitive`, 'use scope account or partner for secrets')
})

test('sensitive account and partner parameters are fine', () => {
  const r = loadRelease()
  r.definition.parameters!.push({ name: 'SigningSecret', target: 'script', scope: 'partner', sensitive: true })
  r.definition.parameters!.push({ name: 'Password', target: 'header', scope: 'account', sensitive: true })
  assertNoProblems(checkReleaseForPush(r))
})

test('a fixed parameter needs a value', () => {
  const r = loadRelease()
  delete r.definition.parameters![1].value
  assertProblem(checkReleaseForPush(r), '/definition/parameters/1/value', 'required when scope is fixed')
})

test('a method may drop an inherited connector parameter with IGNORE_PARAMETER', () => {
  const r = loadRelease()
  method(r, 'get-me').parameters = [{ name: 'ApiVersion', target: 'header', value: '{{IGNORE_PARAMETER}}' }]
  method(r, 'get-account').parameters = [{ name: 'ApiVersion', target: 'header', value: 'CYCLR_IGNORE_PARAMETER' }]
  assertNoProblems(checkReleaseForPush(r))
})

test('IGNORE_PARAMETER needs a connector parameter of that name, and only works on methods', () => {
  const r = loadRelease()
  method(r, 'get-me').parameters = [{ name: 'Version', target: 'header', value: '{{IGNORE_PARAMETER}}' }]
  r.definition.parameters!.push({ name: 'Locale', target: 'header', value: '{{IGNORE_PARAMETER}}' })
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `/definition/methods/${methodIndex(r, 'get-me')}/parameters/0/value`, 'IGNORE_PARAMETER: there is no connector parameter "Version" to ignore')
  assertProblem(problems, '/definition/parameters/2/value', 'IGNORE_PARAMETER only applies to a method parameter')
})

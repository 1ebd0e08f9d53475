import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import type { Method } from '../../src/definition/schema.js'
import { assertNoProblems, assertProblem, loadRelease, method, methodIndex } from '../fixtures/definitions/index.js'

const m = (id: string) => `/definition/methods/${methodIndex(loadRelease(), id)}`

test('the fixture passes every push rule', () => {
  assertNoProblems(checkReleaseForPush(loadRelease()))
})

test('a release needs at least one method', () => {
  const r = loadRelease()
  r.definition.methods = []
  r.settings = { status: 'Approved' }
  r.definition.lookups = []
  assertProblem(checkReleaseForPush(r), '/definition/methods', 'a release needs at least one method')
  delete (r.definition as { methods?: unknown }).methods
  assertProblem(checkReleaseForPush(r), '/definition/methods', 'a release needs at least one method')
  assertProblem(checkReleaseForPush({}), '/definition/methods', 'a release needs at least one method')
})

test('method ids are unique', () => {
  const r = loadRelease()
  method(r, 'get-account').id = 'get-me'
  assertProblem(checkReleaseForPush(r), `${m('get-account')}/id`, `duplicate method id "get-me" (first at ${m('get-me')})`)
})

test('an action method needs http, whether its type is explicit or defaulted', () => {
  const r = loadRelease()
  delete method(r, 'get-me').http
  const contacts = method(r, 'list-contacts')
  contacts.type = 'action'
  delete contacts.http
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('get-me')}/http`, 'required for an action method')
  assertProblem(problems, `${m('list-contacts')}/http`, 'required for an action method')
})

test('webhook and script methods need no http', () => {
  const r = loadRelease()
  r.definition.methods.push({ id: 'tidy', name: 'Update Tidy Records', category: 'Tools', description: 'x', type: 'script', script: 'function after_action() { return true }' })
  assert.equal(method(r, 'contact-created').http, undefined)
  assertNoProblems(checkReleaseForPush(r))
})

test('baseUrl is required when a method path is relative', () => {
  const r = loadRelease()
  delete r.definition.baseUrl
  r.definition.authentications = [{ id: 'none', name: 'None', type: 'none' }]
  assertProblem(checkReleaseForPush(r), '/definition/baseUrl', 'required: method "get-me" has a relative path ("/me") and ')
})

test('baseUrl is not required when every path is absolute or starts with a variable', () => {
  const r = loadRelease()
  delete r.definition.baseUrl
  r.definition.authentications = [{ id: 'none', name: 'None', type: 'none' }]
  r.definition.parameters!.push({ name: 'InstanceUrl', target: 'mergeField', scope: 'account' })
  r.definition.methods = [
    { id: 'get-me', name: 'Get Me', http: { method: 'GET', path: 'https://api.acmecrm.example/me' } },
    { id: 'get-account', name: 'Get Account', http: { method: 'GET', path: '{{InstanceUrl}}/account' } },
    { id: 'list-users', name: 'List Users', http: { method: 'GET', path: 'HTTP://api.acmecrm.example/users' } },
    { id: 'list-pipelines', name: 'List Pipelines', http: { method: 'GET', path: 'https://api.acmecrm.example/pipelines' } },
  ]
  assertNoProblems(checkReleaseForPush(r))
})

test('baseUrl must be absolute', () => {
  const r = loadRelease()
  r.definition.baseUrl = 'api.acmecrm.example/v3'
  assertProblem(checkReleaseForPush(r), '/definition/baseUrl', 'must start with http:// or https:// (or a {{variable}}) (got "api.acmecrm.example/v3")')
  r.definition.baseUrl = ''
  assertProblem(checkReleaseForPush(r), '/definition/baseUrl', 'required: method "get-me" has a relative path')
})

test('parameter and field system names are unique within their method', () => {
  const r = loadRelease()
  method(r, 'list-users').parameters!.push({ name: 'page', target: 'header' })
  method(r, 'create-contact').request!.fields!.push({ location: 'email2', field: 'Email' })
  method(r, 'get-me').response!.fields!.push({ location: 'user.id', field: 'UserId' })
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `${m('list-users')}/parameters/2/name`, `duplicate parameter name "page" (first at ${m('list-users')}/parameters/0)`)
  assertProblem(problems, `${m('create-contact')}/request/fields/5/field`, 'duplicate request field "Email"')
  assertProblem(problems, `${m('get-me')}/response/fields/2/field`, 'duplicate response field "UserId"')
})

test('the same system name in request and response, or in two methods, is fine', () => {
  const r = loadRelease()
  assert.ok(method(r, 'create-contact').request!.fields!.some((f) => f.field === 'Email'))
  assert.ok(method(r, 'get-contact').response!.fields!.some((f) => f.field === 'Email'))
  method(r, 'create-contact').response!.fields!.push({ location: 'properties.email', field: 'Email' })
  assertNoProblems(checkReleaseForPush(r))
})

test('webhook subscription methods must exist and be action methods', () => {
  const r = loadRelease()
  const hook = method(r, 'contact-created')
  hook.webhook = { createMethod: 'create-webhooks', deleteMethod: 'contact-created', updateMethod: 'get-me' }
  const problems = checkReleaseForPush(r)
  const at = m('contact-created')
  assertProblem(problems, `${at}/webhook/createMethod`, 'must name a method of this release (got "create-webhooks") (did you mean "create-webhook"?)')
  assertProblem(problems, `${at}/webhook/deleteMethod`, 'must name an action method ("contact-created" is a webhook method)')
  assert.ok(!problems.some((p) => p.path === `${at}/webhook/updateMethod`))
})

test('webhook settings belong to webhook methods', () => {
  const r = loadRelease()
  method(r, 'list-contacts').webhook = { createMethod: 'create-webhook' }
  assertProblem(checkReleaseForPush(r), `${m('list-contacts')}/webhook`, "only webhook methods have webhook settings (this method's type is action)")
})

test('a webhook event type needs a place to read it from', () => {
  const r = loadRelease()
  const hook = method(r, 'contact-created') as Method
  hook.webhook!.eventType = { values: ['contact.created'] }
  assertProblem(checkReleaseForPush(r), `${m('contact-created')}/webhook/eventType`, 'needs location (a body path) or header')
  hook.webhook!.eventType = { header: 'X-Acme-Event', values: ['contact.created'] }
  assertNoProblems(checkReleaseForPush(r))
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import { LINT_CODES, lintRelease, type LintInput, type LintIssue } from '../../src/domain/lint.js'
import { loadRelease, method, methodIndex } from '../fixtures/definitions/index.js'

const goodConnector = (): LintInput['connector'] => ({ name: 'Acme CRM', description: 'The CRM for small teams.', apiVersion: 'v3', icon: { present: true } })

const lint = (connector = goodConnector(), release: LintInput['release'] = loadRelease()) => lintRelease({ connector, release })

function assertWarning(warnings: LintIssue[], code: keyof typeof LINT_CODES, path: string, fragment: string): void {
  const hit = warnings.find((w) => w.code === code && w.path === path && w.message.includes(fragment))
  assert.ok(hit, `expected ${code} at ${path} containing ${JSON.stringify(fragment)}; got:\n${warnings.map((w) => `${w.code} ${w.path}: ${w.message}`).join('\n') || '(none)'}`)
}

const m = (id: string) => `/definition/methods/${methodIndex(loadRelease(), id)}`

test('the fixture with a complete connector lints clean', () => {
  assert.deepEqual(lint(), { errors: [], warnings: [] })
})

test('errors are exactly the push problems', () => {
  const r = loadRelease()
  r.settings.postInstallTestAuthMethod = 'nope'
  delete r.definition.baseUrl
  const { errors } = lint(goodConnector(), r)
  assert.deepEqual(errors, checkReleaseForPush(r))
  assert.ok(errors.length >= 2)
})

test('the connector name should not carry the API version', () => {
  for (const name of ['Acme CRM v3', 'Acme CRM V2.1', 'Acme (v10) CRM']) {
    assertWarning(lint({ ...goodConnector(), name, apiVersion: null }).warnings, 'NAME_HAS_API_VERSION', '/connector/name', `name should not include the API version ("${name}")`)
  }
  assertWarning(lint({ ...goodConnector(), name: 'Acme CRM 2024-01', apiVersion: '2024-01' }).warnings, 'NAME_HAS_API_VERSION', '/connector/name', 'API version')
  for (const name of ['Acme CRM', 'Dev3 Tools', 'Envoy', 'Acme v']) {
    assert.ok(!lint({ ...goodConnector(), name, apiVersion: '2024-01' }).warnings.some((w) => w.code === 'NAME_HAS_API_VERSION'), name)
  }
})

test('a missing description is a warning', () => {
  for (const description of [undefined, null, '', '  ']) {
    assertWarning(lint({ ...goodConnector(), description }).warnings, 'MISSING_DESCRIPTION', '/connector/description', 'no description')
  }
})

test('an icon is needed on the connector or the release', () => {
  assertWarning(lint({ ...goodConnector(), icon: { present: false } }).warnings, 'MISSING_ICON', '/connector/icon', 'neither the connector nor the release has an icon')
  assertWarning(lint({ ...goodConnector(), icon: undefined }).warnings, 'MISSING_ICON', '/connector/icon', '400x400')
  const withReleaseIcon = lintRelease({ connector: { ...goodConnector(), icon: { present: false } }, release: { ...loadRelease(), icon: { present: true } } })
  assert.ok(!withReleaseIcon.warnings.some((w) => w.code === 'MISSING_ICON'))
})

test('method names start with Get/List/Create/Update/Delete/Search and a noun', () => {
  const r = loadRelease()
  method(r, 'get-me').name = 'Me'
  method(r, 'list-users').name = 'Fetch Users'
  method(r, 'list-notes').name = 'List'
  method(r, 'create-contact').name = 'Creates Contact'
  method(r, 'contact-created').name = 'New contact webhook' // events are named after the event
  const { warnings } = lint(goodConnector(), r)
  assertWarning(warnings, 'METHOD_NAME_CONVENTION', `${m('get-me')}/name`, 'method name "Me" should start with Get, List, Create, Update, Delete or Search followed by a noun')
  assertWarning(warnings, 'METHOD_NAME_CONVENTION', `${m('list-users')}/name`, '"Fetch Users"')
  assertWarning(warnings, 'METHOD_NAME_CONVENTION', `${m('list-notes')}/name`, '"List"')
  assertWarning(warnings, 'METHOD_NAME_CONVENTION', `${m('create-contact')}/name`, '"Creates Contact"')
  assert.equal(warnings.filter((w) => w.code === 'METHOD_NAME_CONVENTION').length, 4)
})

test('methods need a category and a description', () => {
  const r = loadRelease()
  delete method(r, 'get-me').category
  method(r, 'list-users').category = ' '
  delete method(r, 'list-notes').description
  const { warnings } = lint(goodConnector(), r)
  assertWarning(warnings, 'METHOD_MISSING_CATEGORY', `${m('get-me')}/category`, 'method "Get Me" has no category')
  assertWarning(warnings, 'METHOD_MISSING_CATEGORY', `${m('list-users')}/category`, 'no category')
  assertWarning(warnings, 'METHOD_MISSING_DESCRIPTION', `${m('list-notes')}/description`, 'method "List Notes" has no description')
  assert.equal(warnings.length, 3)
})

test('field and parameter descriptions over 100 characters', () => {
  const r = loadRelease()
  const long = 'x'.repeat(101)
  r.definition.parameters![0].description = long
  method(r, 'list-deals').parameters![0].description = long
  method(r, 'create-contact').request!.fields![0].description = long
  method(r, 'get-me').response!.fields![0].description = long
  method(r, 'get-me').response!.fields![1].description = 'x'.repeat(100)
  const { warnings } = lint(goodConnector(), r)
  assertWarning(warnings, 'DESCRIPTION_TOO_LONG', '/definition/parameters/0/description', 'description of parameter "Subdomain" is 101 characters; keep it to 100')
  assertWarning(warnings, 'DESCRIPTION_TOO_LONG', `${m('list-deals')}/parameters/0/description`, 'parameter "pipeline"')
  assertWarning(warnings, 'DESCRIPTION_TOO_LONG', `${m('create-contact')}/request/fields/0/description`, 'field "Email"')
  assertWarning(warnings, 'DESCRIPTION_TOO_LONG', `${m('get-me')}/response/fields/0/description`, 'field "UserId"')
  assert.equal(warnings.length, 4, 'exactly 100 characters is fine')
})

test('paging variables without inbound paging', () => {
  const r = loadRelease()
  r.settings.inboundPaging = false
  const { warnings } = lint(goodConnector(), r)
  assertWarning(warnings, 'PAGING_VARIABLES_WITHOUT_PAGING', `${m('list-users')}/paging/inbound`, 'method "List Users" uses paging variables but inbound paging is off')
  assert.ok(!warnings.some((w) => w.path.startsWith(m('get-me'))))
  method(r, 'list-users').paging = { inbound: true }
  assert.ok(!lint(goodConnector(), r).warnings.some((w) => w.path.startsWith(m('list-users'))), 'a method override turns it on')
})

test('every warning has a documented code, a path and a message', () => {
  const r = loadRelease()
  r.settings.inboundPaging = false
  for (const x of r.definition.methods) {
    x.name = 'x'
    delete x.category
    delete x.description
  }
  const { warnings } = lint({ name: 'Acme v1', icon: { present: false } }, r)
  assert.deepEqual([...new Set(warnings.map((w) => w.code))].sort(), Object.keys(LINT_CODES).filter((c) => c !== 'DESCRIPTION_TOO_LONG').sort())
  for (const w of warnings) assert.ok(w.path.startsWith('/') && w.message.length > 0)
})

test('lint survives a malformed draft', () => {
  const { errors, warnings } = lintRelease({ connector: goodConnector(), release: { settings: 'x', definition: { methods: [null, { name: 5 }, { parameters: 'x', request: 1 }] } } })
  assert.ok(errors.length > 0)
  assert.ok(warnings.some((w) => w.code === 'METHOD_NAME_CONVENTION'))
})

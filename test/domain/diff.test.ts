import { test } from 'node:test'
import assert from 'node:assert/strict'
import { diffReleases, type Change } from '../../src/domain/diff.js'
import { loadRelease, method, methodIndex, type ReleaseFixture } from '../fixtures/definitions/index.js'

/** Diff of the fixture against a copy changed by `edit`. */
function diffAfter(edit: (head: ReleaseFixture) => void) {
  const base = loadRelease()
  const head = loadRelease()
  edit(head)
  return diffReleases(base, head)
}

function only(diff: ReturnType<typeof diffReleases>): Change {
  assert.equal(diff.changes.length, 1, `expected one change, got:\n${diff.changes.map((c) => c.message).join('\n')}`)
  return diff.changes[0]
}

function assertBreaking(diff: ReturnType<typeof diffReleases>, expected: Partial<Change>): void {
  const c = only(diff)
  assert.deepEqual({ ...pick(c, expected), breaking: c.breaking }, { ...expected, breaking: true })
  assert.equal(diff.breaking, true)
  assert.equal(diff.suggestedKind, 'major')
}

function assertAdditive(diff: ReturnType<typeof diffReleases>, expected: Partial<Change>): void {
  const c = only(diff)
  assert.deepEqual({ ...pick(c, expected), breaking: c.breaking }, { ...expected, breaking: false })
  assert.equal(diff.breaking, false)
  assert.equal(diff.suggestedKind, 'minor')
}

const pick = (c: Change, like: Partial<Change>) => Object.fromEntries(Object.keys(like).map((k) => [k, c[k as keyof Change]]))
const m = (id: string) => `/definition/methods/${methodIndex(loadRelease(), id)}`

test('identical releases: no changes, kind none', () => {
  assert.deepEqual(diffReleases(loadRelease(), loadRelease()), { changes: [], breaking: false, suggestedKind: 'none' })
})

test('order and spelled-out defaults are not changes', () => {
  const diff = diffAfter((h) => {
    h.definition.methods.reverse()
    method(h, 'create-contact').request!.fields!.reverse()
    method(h, 'get-me').response!.fields![0].type = 'text'
    method(h, 'get-me').type = 'action'
    h.definition.parameters!.reverse()
  })
  assert.deepEqual(diff.changes, [])
})

// ---- methods ----

test('method removed is breaking (path into the base release)', () => {
  assertBreaking(diffAfter((h) => (h.definition.methods = h.definition.methods.filter((x) => x.id !== 'list-notes'))), {
    type: 'removed', object: 'method', methodId: 'list-notes', path: m('list-notes'), message: 'method "list-notes" removed',
  })
})

test('method added is additive', () => {
  assertAdditive(diffAfter((h) => h.definition.methods.push({ id: 'list-tasks', name: 'List Tasks', http: { method: 'GET', path: '/tasks' } })), {
    type: 'added', object: 'method', methodId: 'list-tasks', path: `/definition/methods/${loadRelease().definition.methods.length}`,
  })
})

test('method name, description, category and hidden are additive', () => {
  const diff = diffAfter((h) => {
    const x = method(h, 'list-contacts')
    x.name = 'List All Contacts'
    x.description = 'Everything.'
    x.category = 'People'
    x.hidden = true
  })
  assert.equal(diff.changes.length, 4)
  assert.ok(diff.changes.every((c) => !c.breaking && c.object === 'method' && c.methodId === 'list-contacts'))
  assert.equal(diff.suggestedKind, 'minor')
  const name = diff.changes.find((c) => c.path.endsWith('/name'))!
  assert.equal(name.message, 'method "list-contacts": name changed from "List Contacts" to "List All Contacts"')
  assert.deepEqual([name.before, name.after], ['List Contacts', 'List All Contacts'])
})

test('method type changed is breaking', () => {
  assertBreaking(diffAfter((h) => (method(h, 'list-notes').type = 'script')), { object: 'method', path: `${m('list-notes')}/type` })
})

test('HTTP verb or path changed is breaking; headers are not', () => {
  assertBreaking(diffAfter((h) => (method(h, 'update-contact').http!.method = 'PUT')), {
    object: 'http', path: `${m('update-contact')}/http/method`, message: 'method "update-contact": http.method changed from "PATCH" to "PUT"',
  })
  assertBreaking(diffAfter((h) => (method(h, 'get-me').http!.path = '/users/me')), { object: 'http', path: `${m('get-me')}/http/path` })
  assertAdditive(diffAfter((h) => (method(h, 'get-me').http!.headers = { Accept: 'application/json' })), { object: 'http', path: `${m('get-me')}/http/headers` })
})

test('records location and body formats changed are breaking', () => {
  assertBreaking(diffAfter((h) => (method(h, 'list-contacts').records = 'results')), { object: 'records', path: `${m('list-contacts')}/records` })
  assertBreaking(diffAfter((h) => (method(h, 'create-contact').request!.format = 'form')), {
    object: 'format', path: `${m('create-contact')}/request/format`, message: 'method "create-contact": request.format changed from "json" to "form"',
  })
  assertBreaking(diffAfter((h) => (method(h, 'get-me').response!.format = 'xml')), { object: 'format', path: `${m('get-me')}/response/format` })
})

test('paging, rate limits, script and webhook settings of a method are additive', () => {
  assertAdditive(diffAfter((h) => (method(h, 'list-deals').paging = { pageSize: 50 })), { object: 'paging', path: `${m('list-deals')}/paging` })
  assertAdditive(diffAfter((h) => (method(h, 'list-deals').rateLimits = { requestsPerSecond: 1 })), { object: 'rateLimits' })
  assertAdditive(diffAfter((h) => (method(h, 'list-deals').script = 'function after_action() { return true }')), { object: 'script' })
  assertAdditive(diffAfter((h) => (method(h, 'contact-created').webhook!.webhookIdLocation = 'data.id')), { object: 'webhook' })
})

// ---- request fields ----

test('request field removed is breaking', () => {
  assertBreaking(diffAfter((h) => method(h, 'create-contact').request!.fields!.splice(1, 1)), {
    type: 'removed', object: 'requestField', methodId: 'create-contact', name: 'FirstName',
    path: `${m('create-contact')}/request/fields/1`, message: 'method "create-contact": request field "FirstName" removed',
  })
})

test('request field made required is breaking; made optional is additive', () => {
  assertBreaking(diffAfter((h) => (method(h, 'create-contact').request!.fields![1].optional = false)), {
    type: 'changed', object: 'requestField', name: 'FirstName', message: 'method "create-contact": request field "FirstName" made required',
  })
  assertBreaking(diffAfter((h) => delete method(h, 'create-contact').request!.fields![1].optional), { name: 'FirstName', message: 'method "create-contact": request field "FirstName" made required' })
  assertAdditive(diffAfter((h) => (method(h, 'create-contact').request!.fields![0].optional = true)), { name: 'Email', path: `${m('create-contact')}/request/fields/0/optional` })
})

test('removing the default of a required request field makes it required', () => {
  const base = loadRelease()
  method(base, 'search-deals').request!.fields![1].optional = false // Limit: required, default 100
  const head = structuredClone(base)
  delete method(head, 'search-deals').request!.fields![1].default
  const c = only(diffReleases(base, head))
  assert.equal(c.breaking, true)
  assert.equal(c.message, 'method "search-deals": request field "Limit" made required')
})

test('new required request field is breaking; new optional or defaulted one is additive', () => {
  assertBreaking(diffAfter((h) => method(h, 'create-contact').request!.fields!.push({ location: 'phone', field: 'Phone' })), {
    type: 'added', object: 'requestField', name: 'Phone', message: 'method "create-contact": request field "Phone" added (required, no default)',
  })
  assertAdditive(diffAfter((h) => method(h, 'create-contact').request!.fields!.push({ location: 'phone', field: 'Phone', optional: true })), { type: 'added', name: 'Phone' })
  assertAdditive(diffAfter((h) => method(h, 'create-contact').request!.fields!.push({ location: 'source', field: 'Source', default: 'plexus' })), { type: 'added', name: 'Source' })
})

test('field type or location changed is breaking; presentation is additive', () => {
  assertBreaking(diffAfter((h) => (method(h, 'create-contact').request!.fields![0].type = 'integer')), {
    object: 'requestField', name: 'Email', path: `${m('create-contact')}/request/fields/0/type`, message: 'method "create-contact": request field "Email": type changed from "text" to "integer"',
  })
  assertBreaking(diffAfter((h) => (method(h, 'create-contact').request!.fields![0].location = 'email')), { object: 'requestField', path: `${m('create-contact')}/request/fields/0/location` })
  assertBreaking(diffAfter((h) => (method(h, 'list-deals').response!.fields![1].type = 'float')), { object: 'responseField', name: 'Amount' })
  assertBreaking(diffAfter((h) => (method(h, 'list-deals').response!.fields![0].location = 'deal_id')), { object: 'responseField', name: 'DealId' })
  assertAdditive(diffAfter((h) => (method(h, 'create-contact').request!.fields![0].displayName = 'E-mail')), { object: 'requestField' })
  assertAdditive(diffAfter((h) => (method(h, 'list-deals').response!.fields![2].format = 'unix')), { object: 'responseField', name: 'CloseDate' })
  assertAdditive(diffAfter((h) => (method(h, 'create-contact').request!.fields![3].lookup = 'Pipelines')), { object: 'requestField', name: 'OwnerId' })
})

// ---- response fields ----

test('response field removed is breaking; added is additive', () => {
  assertBreaking(diffAfter((h) => method(h, 'get-contact').response!.fields!.pop()), {
    type: 'removed', object: 'responseField', name: 'Email', message: 'method "get-contact": response field "Email" removed',
  })
  assertAdditive(diffAfter((h) => method(h, 'get-contact').response!.fields!.push({ location: 'properties.phone', field: 'Phone' })), { type: 'added', object: 'responseField', name: 'Phone' })
})

// ---- parameters ----

test('parameter removed is breaking, at method and connector level', () => {
  assertBreaking(diffAfter((h) => method(h, 'list-deals').parameters!.shift()), {
    type: 'removed', object: 'parameter', methodId: 'list-deals', name: 'pipeline', message: 'method "list-deals": parameter "pipeline" removed',
  })
  assertBreaking(diffAfter((h) => h.definition.parameters!.shift()), { type: 'removed', object: 'parameter', name: 'Subdomain', path: '/definition/parameters/0', message: 'connector parameter "Subdomain" removed' })
})

test('parameter made required is breaking', () => {
  const base = loadRelease()
  method(base, 'list-deals').parameters![0].optional = true
  assertBreaking(diffReleases(base, loadRelease()), { object: 'parameter', name: 'pipeline', message: 'method "list-deals": parameter "pipeline" made required' })
})

test('new required parameter without default is breaking; with default, value or optional it is additive', () => {
  assertBreaking(diffAfter((h) => h.definition.parameters!.push({ name: 'Region', target: 'header', scope: 'account' })), {
    type: 'added', object: 'parameter', name: 'Region', message: 'connector parameter "Region" added (required, no default)',
  })
  assertBreaking(diffAfter((h) => method(h, 'list-notes').parameters!.push({ name: 'folder', target: 'query' })), { type: 'added', methodId: 'list-notes', name: 'folder' })
  assertAdditive(diffAfter((h) => method(h, 'list-notes').parameters!.push({ name: 'folder', target: 'query', default: 'inbox' })), { type: 'added', name: 'folder' })
  assertAdditive(diffAfter((h) => method(h, 'list-notes').parameters!.push({ name: 'folder', target: 'query', optional: true })), { type: 'added', name: 'folder' })
  assertAdditive(diffAfter((h) => method(h, 'list-notes').parameters!.push({ name: 'sort', target: 'query', value: 'created_at' })), { type: 'added', name: 'sort' })
})

test('parameter target, targetName or scope changed is breaking; value and presentation are additive', () => {
  assertBreaking(diffAfter((h) => (method(h, 'list-deals').parameters![0].target = 'header')), { object: 'parameter', path: `${m('list-deals')}/parameters/0/target` })
  assertBreaking(diffAfter((h) => (method(h, 'list-deals').parameters![0].targetName = 'pipeline_id')), { object: 'parameter', name: 'pipeline' })
  assertBreaking(diffAfter((h) => (h.definition.parameters![0].scope = 'partner')), { object: 'parameter', name: 'Subdomain', path: '/definition/parameters/0/scope' })
  assertAdditive(diffAfter((h) => (h.definition.parameters![1].value = '2025-01')), { object: 'parameter', name: 'ApiVersion' })
  assertAdditive(diffAfter((h) => (h.definition.parameters![0].displayName = 'Subdomain')), { object: 'parameter', name: 'Subdomain' })
})

// ---- authentications, lookups ----

test('authentication removed or its type/grant changed is breaking; added is additive', () => {
  assertBreaking(diffAfter((h) => h.definition.authentications!.pop()), { type: 'removed', object: 'authentication', name: 'oauth', message: 'authentication "oauth" (oauth2) removed' })
  assertBreaking(diffAfter((h) => (h.definition.authentications![1] = { id: 'oauth', name: 'Basic', type: 'basic' })), { object: 'authentication', name: 'oauth', path: '/definition/authentications/1/type' })
  assertBreaking(
    diffAfter((h) => {
      const a = h.definition.authentications![1]
      if (a.type === 'oauth2') a.grant = 'clientCredentials'
    }),
    { object: 'authentication', path: '/definition/authentications/1/grant' },
  )
  assertAdditive(diffAfter((h) => h.definition.authentications!.push({ id: 'basic', name: 'Password', type: 'basic' })), { type: 'added', object: 'authentication', name: 'basic' })
  assertAdditive(
    diffAfter((h) => {
      const a = h.definition.authentications![0]
      if (a.type === 'apiKey') a.header = 'X-Api-Key'
    }),
    { object: 'authentication', path: '/definition/authentications/0/header' },
  )
})

test('authFields: field removed or new required field is breaking', () => {
  const base = loadRelease()
  base.definition.authentications!.push({ id: 'fields', name: 'Token', type: 'authFields', fields: [{ key: 'Token', target: 'header' }, { key: 'Org', target: 'query', optional: true }] })
  const removed = structuredClone(base)
  const a = removed.definition.authentications![2] as { fields: unknown[] }
  a.fields.pop()
  assert.equal(only(diffReleases(base, removed)).message, 'authentication "fields": field "Org" removed')
  assert.equal(diffReleases(base, removed).breaking, true)
  const added = structuredClone(base)
  ;(added.definition.authentications![2] as { fields: unknown[] }).fields.push({ key: 'Secret', target: 'header' })
  assert.equal(only(diffReleases(base, added)).breaking, true)
  const optional = structuredClone(base)
  ;(optional.definition.authentications![2] as { fields: unknown[] }).fields.push({ key: 'Hint', target: 'header', optional: true })
  assert.equal(only(diffReleases(base, optional)).breaking, false)
  const required = structuredClone(base)
  ;(required.definition.authentications![2] as { fields: { optional?: boolean }[] }).fields[1].optional = false
  assert.deepEqual(pick(only(diffReleases(base, required)), { breaking: true, message: '' }), { breaking: true, message: 'authentication "fields": field "Org" made required' })
})

test('lookup removed or its value path changed is breaking; label path and additions are additive', () => {
  assertBreaking(diffAfter((h) => h.definition.lookups!.pop()), { type: 'removed', object: 'lookup', name: 'Pipelines', message: 'lookup "Pipelines" removed' })
  assertBreaking(diffAfter((h) => (h.definition.lookups![0].valuePath = 'email')), { object: 'lookup', path: '/definition/lookups/0/valuePath' })
  assertAdditive(diffAfter((h) => (h.definition.lookups![0].labelPath = 'email')), { object: 'lookup', path: '/definition/lookups/0/labelPath' })
  assertAdditive(diffAfter((h) => h.definition.lookups!.push({ name: 'Stages', method: 'list-pipelines', valuePath: 'stages[].id', labelPath: 'stages[].label' })), { type: 'added', object: 'lookup' })
})

// ---- release level ----

test('baseUrl changed is breaking', () => {
  assertBreaking(diffAfter((h) => (h.definition.baseUrl = 'https://{{Subdomain}}.acmecrm.example/api/v4')), { object: 'baseUrl', path: '/definition/baseUrl' })
})

test('settings changes are additive, except where webhooks arrive', () => {
  assertAdditive(diffAfter((h) => (h.settings.status = 'Beta')), { object: 'setting', name: 'status', message: 'settings: status changed from "Approved" to "Beta"' })
  assertAdditive(diffAfter((h) => (h.settings.inboundPageSize = 250)), { object: 'setting', name: 'inboundPageSize' })
  assertAdditive(diffAfter((h) => delete h.settings.comments), { object: 'setting', name: 'comments' })
  assertBreaking(diffAfter((h) => (h.settings.useSingularPartnerWebhookUrl = true)), { object: 'setting', name: 'useSingularPartnerWebhookUrl' })
})

test('release paging, rate limits and script are additive', () => {
  assertAdditive(diffAfter((h) => (h.definition.paging = { maxPages: 10 })), { object: 'paging', path: '/definition/paging' })
  assertAdditive(diffAfter((h) => (h.definition.rateLimits = { secondsBetweenRequests: 2 })), { object: 'rateLimits' })
  assertAdditive(diffAfter((h) => (h.definition.script = 'function before_action() { return true }')), { object: 'script' })
})

test('webhook routing key or match changed is breaking; signature is additive', () => {
  const base = loadRelease()
  base.definition.webhookRouting = { key: { location: 'portalId' }, match: { externalId: true } }
  const key = structuredClone(base)
  key.definition.webhookRouting!.key = { header: 'X-Portal' }
  assert.deepEqual(pick(only(diffReleases(base, key)), { object: 'webhookRouting', breaking: true, path: '' }), { object: 'webhookRouting', breaking: true, path: '/definition/webhookRouting/key' })
  const signed = structuredClone(base)
  signed.definition.webhookRouting!.signature = { header: 'X-Sig', algorithm: 'sha256', secretProperty: 'S' }
  assert.equal(only(diffReleases(base, signed)).breaking, false)
})

test('many changes at once: every change listed, major when any is breaking', () => {
  const diff = diffAfter((h) => {
    h.settings.comments = 'v2'
    method(h, 'get-me').description = 'Who am I'
    h.definition.methods.push({ id: 'list-tasks', name: 'List Tasks', http: { method: 'GET', path: '/tasks' } })
    method(h, 'create-contact').request!.fields!.shift()
  })
  assert.equal(diff.changes.length, 4)
  assert.deepEqual(diff.changes.filter((c) => c.breaking).map((c) => c.message), ['method "create-contact": request field "Email" removed'])
  assert.equal(diff.suggestedKind, 'major')
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import { assertNoProblems, assertProblem, loadRelease, method, methodIndex } from '../fixtures/definitions/index.js'

test('post-install methods must name a method of this release', () => {
  const r = loadRelease()
  r.settings.postInstallTestAuthMethod = 'get-Me'
  r.settings.postInstallPropertyLookupMethod = 'fetch-account'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/settings/postInstallTestAuthMethod', 'must name a method of this release (got "get-Me") (did you mean "get-me"?)')
  assertProblem(problems, '/settings/postInstallPropertyLookupMethod', 'must name a method of this release (got "fetch-account")')
})

test('post-install methods must be action methods', () => {
  const r = loadRelease()
  r.settings.postInstallTestAuthMethod = 'contact-created'
  r.definition.methods.push({ id: 'noop', name: 'Get Nothing', type: 'script' })
  r.settings.postInstallPropertyLookupMethod = 'noop'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/settings/postInstallTestAuthMethod', 'must name an action method ("contact-created" is a webhook method)')
  assertProblem(problems, '/settings/postInstallPropertyLookupMethod', 'must name an action method ("noop" is a script method)')
})

test('lookups name existing, non-webhook methods', () => {
  const r = loadRelease()
  r.definition.lookups![0].method = 'list-user'
  r.definition.lookups!.push({ name: 'Events', method: 'contact-created', valuePath: 'id', labelPath: 'id' })
  r.definition.methods.push({ id: 'static-stages', name: 'List Stages', type: 'script' })
  r.definition.lookups!.push({ name: 'Stages', method: 'static-stages', valuePath: 'id', labelPath: 'label' })
  const problems = checkReleaseForPush(r)
  assertProblem(problems, '/definition/lookups/0/method', 'must name a method of this release (got "list-user") (did you mean "list-users"?)')
  assertProblem(problems, '/definition/lookups/2/method', 'must name an action or script method ("contact-created" is a webhook method)')
  assert.ok(!problems.some((p) => p.path === '/definition/lookups/3/method'), 'a script method can list values')
})

test('lookup names are unique', () => {
  const r = loadRelease()
  r.definition.lookups!.push({ name: 'Owners', method: 'list-users', valuePath: 'id', labelPath: 'email' })
  assertProblem(checkReleaseForPush(r), '/definition/lookups/2/name', 'duplicate lookup name "Owners"')
})

test("a lookup's search parameter is a parameter of its method (or of the connector)", () => {
  const r = loadRelease()
  r.definition.lookups![0].searchParameter = 'query'
  assertProblem(checkReleaseForPush(r), '/definition/lookups/0/searchParameter', 'must name a parameter of method "list-users" (got "query")')
  method(r, 'list-users').parameters!.push({ name: 'query', target: 'query', optional: true })
  assertNoProblems(checkReleaseForPush(r))
  r.definition.lookups![0].searchParameter = 'Subdomain'
  assertNoProblems(checkReleaseForPush(r))
})

test('parameter and field lookups name lookups of this release', () => {
  const r = loadRelease()
  method(r, 'list-deals').parameters![0].lookup = 'Pipeline'
  method(r, 'create-contact').request!.fields![3].lookup = 'Users'
  method(r, 'get-contact').response!.fields![0].lookup = 'Contacts'
  r.definition.parameters![0].lookup = 'Regions'
  const problems = checkReleaseForPush(r)
  assertProblem(problems, `/definition/methods/${methodIndex(r, 'list-deals')}/parameters/0/lookup`, 'must name a lookup of this release (got "Pipeline") (did you mean "Pipelines"?)')
  assertProblem(problems, `/definition/methods/${methodIndex(r, 'create-contact')}/request/fields/3/lookup`, 'must name a lookup of this release (got "Users")')
  assertProblem(problems, `/definition/methods/${methodIndex(r, 'get-contact')}/response/fields/0/lookup`, 'got "Contacts"')
  assertProblem(problems, '/definition/parameters/0/lookup', 'got "Regions"')
})

// ---- singular partner webhook URL (SPEC §6) ----

const singular = () => {
  const r = loadRelease()
  r.settings.useSingularPartnerWebhookUrl = true
  r.definition.parameters!.push({ name: 'PortalId', target: 'script', scope: 'account' })
  r.definition.parameters!.push({ name: 'WebhookSecret', target: 'script', scope: 'partner', sensitive: true })
  r.definition.webhookRouting = {
    key: { location: 'portalId' },
    match: { property: 'PortalId' },
    signature: { header: 'X-Acme-Signature', algorithm: 'sha256', prefix: 'sha256=', secretProperty: 'WebhookSecret' },
    dedupe: { header: 'X-Acme-Delivery' },
  }
  return r
}

test('a complete singular-webhook routing passes', () => {
  assertNoProblems(checkReleaseForPush(singular()))
  const r = singular()
  r.definition.webhookRouting!.match = { externalId: true }
  assertNoProblems(checkReleaseForPush(r))
})

test('useSingularPartnerWebhookUrl requires webhookRouting', () => {
  const r = singular()
  delete r.definition.webhookRouting
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting', 'required when settings.useSingularPartnerWebhookUrl is true')
})

test('the routing key is read from exactly one place', () => {
  const r = singular()
  r.definition.webhookRouting!.key = {}
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/key', 'needs exactly one of location (a body path) or header')
  r.definition.webhookRouting!.key = { location: 'portalId', header: 'X-Portal' }
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/key', 'needs exactly one of location (a body path) or header')
})

test('the routing key is matched with exactly one thing', () => {
  const r = singular()
  r.definition.webhookRouting!.match = {}
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/match', 'needs exactly one of property (an account connector property) or externalId: true')
  r.definition.webhookRouting!.match = { property: 'PortalId', externalId: true }
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/match', 'needs exactly one of property')
})

test('the match property is an account-scoped connector parameter', () => {
  const r = singular()
  r.definition.webhookRouting!.match = { property: 'PortalID' }
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/match/property', 'must name a connector parameter with scope account (got "PortalID") (did you mean "PortalId"?)')
  r.definition.webhookRouting!.match = { property: 'WebhookSecret' }
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/match/property', '("WebhookSecret" has scope partner)')
})

test('the signature secret is a partner-scoped connector parameter', () => {
  const r = singular()
  r.definition.webhookRouting!.signature!.secretProperty = 'PortalId'
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/signature/secretProperty', 'must name a connector parameter with scope partner ("PortalId" has scope account)')
  r.definition.webhookRouting!.signature!.secretProperty = 'ApiVersion'
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/signature/secretProperty', '("ApiVersion" has scope fixed)')
})

test('the dedupe key is read from exactly one place', () => {
  const r = singular()
  r.definition.webhookRouting!.dedupe = {}
  assertProblem(checkReleaseForPush(r), '/definition/webhookRouting/dedupe', 'needs exactly one of location (a body path) or header')
})

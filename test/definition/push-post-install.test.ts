import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkReleaseForPush } from '../../src/definition/validate.js'
import { assertNoProblems, assertProblem, loadRelease } from '../fixtures/definitions/index.js'

test('postInstallPropertyMappings set account-scope connector parameters and need the lookup method', () => {
  const r = loadRelease()
  r.definition.parameters!.push({ name: 'SessionToken', target: 'header', targetName: 'X-Session', scope: 'account', optional: true, hidden: true, sensitive: true })
  r.settings.postInstallPropertyLookupMethod = r.settings.postInstallPropertyLookupMethod ?? 'get-me'
  r.settings.postInstallPropertyMappings = [{ property: 'SessionToken', location: 'session.token' }]
  assertNoProblems(checkReleaseForPush(r))

  r.settings.postInstallPropertyMappings = [{ property: 'Sessionn', location: 'session.token' }]
  assertProblem(checkReleaseForPush(r), '/settings/postInstallPropertyMappings/0/property', 'must name a connector parameter with scope account (got "Sessionn")')

  delete r.settings.postInstallPropertyLookupMethod
  r.settings.postInstallPropertyMappings = [{ property: 'SessionToken', location: 'session.token' }]
  assertProblem(checkReleaseForPush(r), '/settings/postInstallPropertyMappings', 'needs settings.postInstallPropertyLookupMethod')

  r.settings.postInstallPropertyMappings = [{ property: 'SessionToken' } as never]
  assert.ok(checkReleaseForPush(r).some((p) => p.path === '/settings/postInstallPropertyMappings/0/location'), 'location is required')
})

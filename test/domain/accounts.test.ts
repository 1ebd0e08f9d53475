import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Authentication, ConnectorDefinition, ReleaseSettings } from '../../src/definition/schema.js'
import { accountPropertySpecs, authValueSpec, canonicalTimeZone, checkAuthValues, checkProperties, maskHint, partnerPropertySpecs, postInstallTargets } from '../../src/domain/accounts.js'
import { extractProperties } from '../../src/services/account-connectors.js'

describe('account rules', () => {
  test('time zones: IANA names only, canonicalised', () => {
    assert.equal(canonicalTimeZone('Europe/London'), 'Europe/London')
    assert.equal(canonicalTimeZone('europe/paris'), 'Europe/Paris')
    assert.equal(canonicalTimeZone('UTC'), 'UTC')
    for (const bad of ['Mars/Base', '+02:00', '', 'Europe/London ', '../etc/passwd']) assert.equal(canonicalTimeZone(bad), undefined, bad)
  })

  test('auth values by authentication type', () => {
    const auths: Authentication[] = [
      { id: 'k', name: 'K', type: 'apiKey', in: 'header', header: 'X-Key' },
      { id: 'kv', name: 'KV', type: 'apiKey', in: 'header', header: 'Authorization', value: 'Basic {{Username}}:{{ApiKey}}' },
      { id: 'b', name: 'B', type: 'basic' },
      { id: 'f', name: 'F', type: 'authFields', fields: [{ key: 'Sid', target: 'header' }, { key: 'Pin', target: 'body', optional: true }] },
      { id: 'o', name: 'O', type: 'oauth2', grant: 'authorizationCode', authorizeUrl: 'https://x/a', tokenUrl: 'https://x/t' },
      { id: 'p', name: 'P', type: 'oauth2', grant: 'password', tokenUrl: 'https://x/t' },
    ]
    const spec = Object.fromEntries(auths.map((a) => [a.id, authValueSpec(a)]))
    assert.deepEqual(spec.k, { allowed: ['ApiKey'], required: ['ApiKey'] })
    assert.deepEqual(spec.kv, { allowed: ['Username', 'ApiKey'], required: ['Username', 'ApiKey'] })
    assert.deepEqual(spec.b.required, ['Username'])
    assert.deepEqual(spec.f, { allowed: ['Sid', 'Pin'], required: ['Sid'] })
    assert.deepEqual(spec.o.required, [])
    assert.ok(spec.o.allowed.includes('ClientId') && spec.o.allowed.includes('RefreshToken'))
    assert.deepEqual(spec.p.required, ['Username', 'Password'])
    assert.deepEqual(authValueSpec({ id: 'a', name: 'A', type: 'oauth2', grant: 'authorizationCode', authorizeUrl: 'https://x/a', tokenUrl: 'https://x/t', clientCredentialsFrom: 'account' }).required, ['ClientId'])
    assert.deepEqual(authValueSpec(undefined), { allowed: [], required: [] })

    assert.deepEqual(checkAuthValues(auths[0], { ApiKey: 'x' }), [])
    assert.deepEqual(checkAuthValues(auths[0], {}).map((p) => p.path), ['auth.ApiKey'])
    assert.match(checkAuthValues(auths[0], { ApiKey: 'x', Secret: 'y' })[0].message, /takes ApiKey/)
    assert.equal(checkAuthValues(auths[4], { ExpiresAt: 'soon' })[0].path, 'auth.ExpiresAt')
    assert.match(checkAuthValues(undefined, { ApiKey: 'x' })[0].message, /takes no values/)
  })

  const definition: ConnectorDefinition = {
    parameters: [
      { name: 'Subdomain', target: 'mergeField', scope: 'account' },
      { name: 'Region', target: 'header', scope: 'account', default: 'eu' },
      { name: 'TenantId', target: 'header', scope: 'account', hidden: true, optional: true },
      { name: 'Session', target: 'header', scope: 'account', sensitive: true },
      { name: 'AppKey', target: 'header', scope: 'partner', sensitive: true },
    ],
    authentications: [{ id: 'o', name: 'O', type: 'oauth2', grant: 'clientCredentials', tokenUrl: 'https://x/t' }],
    methods: [{ id: 'who', name: 'Who', http: { method: 'GET', path: '/who' }, response: { fields: [{ location: 'tenant', field: 'TenantId' }, { location: 'x', field: 'Other' }] } }],
  }
  const settings: ReleaseSettings = { postInstallPropertyLookupMethod: 'who', postInstallPropertyMappings: [{ property: 'Session', location: 'session.id' }] }

  test('account properties: required unless optional, defaulted, hidden or set by the post-install lookup', () => {
    assert.deepEqual([...postInstallTargets(settings, definition)].sort(), ['Session', 'TenantId'])
    const specs = accountPropertySpecs(settings, definition)
    assert.deepEqual(specs.map((s) => [s.name, s.required]), [['Subdomain', true], ['Region', false], ['TenantId', false], ['Session', false]])
    assert.equal(specs.find((s) => s.name === 'Session')?.sensitive, true)
    assert.deepEqual(checkProperties(specs, {}, true).map((p) => p.path), ['properties.Subdomain'])
    assert.deepEqual(checkProperties(specs, { Nope: 'x' }, false).map((p) => p.path), ['properties.Nope'])
    assert.deepEqual(partnerPropertySpecs(definition), [{ name: 'AppKey', sensitive: true }, { name: 'ClientId', sensitive: false }, { name: 'ClientSecret', sensitive: true }])
  })

  test('the property lookup response sets properties from fields and declared mappings', () => {
    const set = extractProperties(settings, definition, { records: [{ TenantId: 't-1', Other: 'o' }], body: { tenant: 't-1', session: { id: 's-9' } } })
    assert.deepEqual(set, { TenantId: 't-1', Session: 's-9' })
    assert.deepEqual(extractProperties(settings, definition, { records: [], body: {} }), {})
  })

  test('masked hints keep a secret secret', () => {
    assert.equal(maskHint('short'), '****')
    assert.equal(maskHint('sk_live_0123456789abcdef'), '****cdef')
  })
})

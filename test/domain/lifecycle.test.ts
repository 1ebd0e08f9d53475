import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertDraft, assertNoDraft, assertNotSunset, assertPlanAllowsConnector, checkSunset, formatVersion, installability, nextVersion, sunsetStatus } from '../../src/domain/lifecycle.js'
import { PlexusError } from '../../src/errors/errors.js'

test('version numbering: first push 1.0, major (M+1).0, minor M.(m+1)', () => {
  assert.deepEqual(nextVersion(null, 'minor'), { major: 1, minor: 0 })
  assert.deepEqual(nextVersion(null, 'major'), { major: 1, minor: 0 })
  assert.deepEqual(nextVersion({ major: 1, minor: 0 }, 'minor'), { major: 1, minor: 1 })
  assert.deepEqual(nextVersion({ major: 1, minor: 9 }, 'minor'), { major: 1, minor: 10 })
  assert.deepEqual(nextVersion({ major: 1, minor: 9 }, 'major'), { major: 2, minor: 0 })
  assert.equal(formatVersion({ major: 2, minor: 10 }), '2.10')
  assert.equal(formatVersion(null), null)
})

test('only drafts pass assertDraft', () => {
  assert.doesNotThrow(() => assertDraft({ id: 'r', state: 'draft' }, 'edited'))
  for (const state of ['live', 'deprecated'] as const) {
    assert.throws(() => assertDraft({ id: 'r', state }, 'edited'), (e: PlexusError) => e.code === 'RELEASE_NOT_DRAFT' && e.statusCode === 409 && e.message.includes(state))
  }
  assert.throws(() => assertNoDraft('rel_1'), (e: PlexusError) => e.code === 'DRAFT_EXISTS' && e.message.includes('rel_1'))
  assert.doesNotThrow(() => assertNoDraft(null))
})

test('status rules: Planned never installable, Beta only with beta enabled', () => {
  assert.equal(installability('Planned', true).installable, false)
  assert.equal(installability('Beta', false).installable, false)
  assert.match(installability('Beta', false).reason ?? '', /beta/i)
  assert.equal(installability('Beta', true).installable, true)
  assert.equal(installability('Approved', false).installable, true)
  assert.equal(installability('Unknown', false).installable, true)
  assert.equal(installability(undefined, false).installable, true)
})

test('plan limits', () => {
  assert.throws(() => assertPlanAllowsConnector({ allowCustomConnectors: false, maxCustomConnectors: null }, 0), (e: PlexusError) => e.code === 'PLAN_LIMIT' && e.statusCode === 403)
  assert.doesNotThrow(() => assertPlanAllowsConnector({ allowCustomConnectors: true, maxCustomConnectors: null }, 1000))
  assert.doesNotThrow(() => assertPlanAllowsConnector({ allowCustomConnectors: true, maxCustomConnectors: 2 }, 1))
  assert.throws(() => assertPlanAllowsConnector({ allowCustomConnectors: true, maxCustomConnectors: 2 }, 2), /at most 2 custom connectors; 2 exist/)
  assert.throws(() => assertPlanAllowsConnector({ allowCustomConnectors: true, maxCustomConnectors: 0 }, 0), /at most 0/)
})

test('sunset dates: only deprecated releases, ISO dates with a zone, in the future; normalised', () => {
  const now = new Date('2026-11-28T00:00:00Z')
  const deprecated = { id: 'rel_1', state: 'deprecated' as const }
  assert.equal(checkSunset(deprecated, '2027-01-31', now), '2027-01-31T00:00:00.000Z')
  assert.equal(checkSunset(deprecated, '2027-01-31T12:00:00+02:00', now), '2027-01-31T10:00:00.000Z')
  for (const state of ['draft', 'live'] as const) {
    assert.throws(() => checkSunset({ id: 'rel_1', state }, '2027-01-31', now), (e: unknown) => e instanceof PlexusError && e.code === 'RELEASE_NOT_DEPRECATED' && e.message.includes(state))
  }
  for (const bad of ['2027-01-31T12:00:00', '31/01/2027', '2027-13-01', 'tomorrow', '']) {
    assert.throws(() => checkSunset(deprecated, bad, now), (e: unknown) => e instanceof PlexusError && e.code === 'BAD_REQUEST' && e.message.startsWith('sunsetAt:'), bad)
  }
  assert.throws(() => checkSunset(deprecated, '2026-11-28', now), (e: unknown) => e instanceof PlexusError && /not in the future/.test(e.message))
})

test('sunset status: no warning far out, days left within 30 days, passed after the date', () => {
  const release = { state: 'deprecated' as const, version: { major: 1, minor: 2 }, sunsetAt: '2027-01-31T00:00:00.000Z' }
  const far = sunsetStatus(release, new Date('2026-11-28T00:00:00Z'))
  assert.deepEqual(far, { sunsetAt: release.sunsetAt, daysLeft: 64, passed: false, warning: null })
  const near = sunsetStatus(release, new Date('2027-01-30T12:00:00Z'))
  assert.equal(near.daysLeft, 1)
  assert.match(near.warning ?? '', /^release 1\.2 sunsets in 1 day \(/)
  const gone = sunsetStatus(release, new Date('2027-01-31T00:00:00Z'))
  assert.equal(gone.passed, true)
  assert.match(gone.warning ?? '', /reached its sunset/)
  // a date on a release that is no longer deprecated (or none at all) means nothing
  assert.deepEqual(sunsetStatus({ ...release, state: 'live' }, new Date('2027-02-01T00:00:00Z')), { sunsetAt: null, daysLeft: null, passed: false, warning: null })
  assert.equal(sunsetStatus({ ...release, sunsetAt: null }, new Date()).passed, false)
})

test('installs pinned to a release past its sunset are refused with the releases named', () => {
  assert.doesNotThrow(() => assertNotSunset([], 'installing template tpl_1'))
  assert.throws(
    () => assertNotSunset([{ id: 'rel_9', connectorId: 'con_1', version: { major: 1, minor: 0 }, sunsetAt: '2027-01-31T00:00:00.000Z' }], 'installing template tpl_1'),
    (e: unknown) => e instanceof PlexusError && e.code === 'RELEASE_SUNSET' && /installing template tpl_1 is refused: release 1\.0 of connector con_1/.test(e.message),
  )
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertDraft, assertNoDraft, assertPlanAllowsConnector, formatVersion, installability, nextVersion } from '../../src/domain/lifecycle.js'
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

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { updateAvailability } from '../../src/domain/update-available.js'

test('update available only when the live release is of a higher major', () => {
  assert.deepEqual(updateAvailability({ major: 1, minor: 2 }, { major: 2, minor: 0 }), { updateAvailable: true, updateVersion: '2.0' })
  assert.deepEqual(updateAvailability({ major: 1, minor: 0 }, { major: 3, minor: 4 }), { updateAvailable: true, updateVersion: '3.4' })
  assert.deepEqual(updateAvailability({ major: 1, minor: 0 }, { major: 1, minor: 5 }), { updateAvailable: false, updateVersion: null })
  assert.deepEqual(updateAvailability({ major: 2, minor: 0 }, { major: 2, minor: 0 }), { updateAvailable: false, updateVersion: null })
  assert.deepEqual(updateAvailability(null, { major: 2, minor: 0 }), { updateAvailable: false, updateVersion: null })
  assert.deepEqual(updateAvailability({ major: 1, minor: 0 }, undefined), { updateAvailable: false, updateVersion: null })
})

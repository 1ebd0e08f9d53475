import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkIcon } from '../../src/domain/icon.js'
import { corruptPng, jpegHeader, makePng, truncatedPng } from '../helpers/images.js'

test('a 400x400 PNG passes', () => assert.deepEqual(checkIcon(makePng()), { ok: true }))

test('each wrong icon gets a message saying what was wrong', () => {
  const cases: Array<[Buffer, RegExp]> = [
    [makePng(200, 200), /^icon must be a 400x400 PNG; got 200x200 PNG$/],
    [makePng(400, 401), /got 400x401 PNG/],
    [jpegHeader(200, 200), /^icon must be a 400x400 PNG; got 200x200 JPEG$/],
    [corruptPng(), /corrupt/],
    [truncatedPng(), /corrupt/],
    [Buffer.from('plain text'), /not a recognised image/],
    [Buffer.alloc(0), /empty/],
    [Buffer.alloc(1024 * 1024 + 1), /at most 1 MB; got 1048577 bytes/],
  ]
  for (const [data, message] of cases) {
    const r = checkIcon(data)
    assert.equal(r.ok, false)
    assert.match((r as { message: string }).message, message)
  }
})

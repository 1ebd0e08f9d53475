import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { SecretBox, SecretUnreadableError } from '../../src/shared/crypto.js'

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32))

  test('seals as v1.<base64url> and opens with the same associated data', () => {
    const sealed = box.seal('sk_live_abc', 'account_connectors:acn_1:auth')
    assert.match(sealed, /^v1\.[A-Za-z0-9_-]+$/)
    assert.ok(!sealed.includes('sk_live_abc'))
    assert.equal(box.open(sealed, 'account_connectors:acn_1:auth'), 'sk_live_abc')
    assert.notEqual(box.seal('sk_live_abc', 'x'), box.seal('sk_live_abc', 'x'), 'a fresh IV every time')
    assert.deepEqual(box.openJson(box.sealJson({ a: 1 }, 'j'), 'j'), { a: 1 })
  })

  test('another row, another key, or one changed byte does not open', () => {
    const sealed = box.seal('secret', 'account_connectors:acn_1:auth')
    assert.throws(() => box.open(sealed, 'account_connectors:acn_2:auth'), SecretUnreadableError)
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'account_connectors:acn_1:auth'), SecretUnreadableError)
    const raw = Buffer.from(sealed.slice(3), 'base64url')
    raw[raw.length - 1] ^= 1
    assert.throws(() => box.open(`v1.${raw.toString('base64url')}`, 'account_connectors:acn_1:auth'), SecretUnreadableError)
    assert.throws(() => box.open('v2.abc', 'x'), /unknown format/)
    assert.throws(() => box.open('v1.abc', 'x'), /truncated/)
  })

  test('the key is derived: the same secret key opens what another instance sealed', () => {
    const key = randomBytes(32)
    assert.equal(new SecretBox(key).open(new SecretBox(key).seal('v', 'aad'), 'aad'), 'v')
    assert.throws(() => new SecretBox(randomBytes(16)), /32 bytes/)
  })

  test('signed tokens: readable, tamper-evident, separated by purpose', () => {
    const token = box.sign({ n: 'nonce', e: 1 }, 'oauth2-state')
    assert.deepEqual(box.verify(token, 'oauth2-state'), { n: 'nonce', e: 1 })
    assert.equal(box.verify(token, 'other-purpose'), undefined)
    const [body, sig] = token.split('.')
    const altered = Buffer.from(JSON.stringify({ n: 'nonce', e: 2 })).toString('base64url')
    assert.equal(box.verify(`${altered}.${sig}`, 'oauth2-state'), undefined)
    assert.equal(box.verify(`${body}.`, 'oauth2-state'), undefined)
    assert.equal(box.verify('nodot', 'oauth2-state'), undefined)
    assert.equal(box.derive('pkce', 'n1'), box.derive('pkce', 'n1'))
    assert.notEqual(box.derive('pkce', 'n1'), box.derive('pkce', 'n2'))
  })
})

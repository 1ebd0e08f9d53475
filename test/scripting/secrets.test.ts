// SecretMasker: every form of a secret is masked in JSON and put back; the needles made for a list
// of secrets are reused by the next masker of the same list, never by another list.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretMasker } from '../../src/scripting/secrets.js';

describe('SecretMasker', () => {
  it('masks a secret and its base64 and URL-encoded forms, and puts them back', () => {
    const secret = 'key with spaces/+=';
    const m = new SecretMasker([secret]);
    const json = JSON.stringify({ a: secret, b: Buffer.from(secret).toString('base64'), c: encodeURIComponent(secret), d: 'plain' });
    const masked = m.mask(json);
    assert.ok(!masked.includes(secret) && !masked.includes(Buffer.from(secret).toString('base64')) && !masked.includes(encodeURIComponent(secret)));
    assert.match(masked, /\[REDACTED:\d+\]/);
    assert.deepEqual(JSON.parse(m.unmask(masked)), JSON.parse(json));
    assert.equal(m.redact(`token ${secret}`), 'token [REDACTED]');
  });

  it('gives maskers of the same secrets the same placeholders, and maskers of other secrets their own', () => {
    const a1 = new SecretMasker(['alpha-secret', 'beta-secret-longer']);
    const a2 = new SecretMasker(['alpha-secret', 'beta-secret-longer']);
    const b = new SecretMasker(['gamma-secret']);
    const text = JSON.stringify({ x: 'alpha-secret', y: 'beta-secret-longer', z: 'gamma-secret' });
    assert.equal(a1.mask(text), a2.mask(text));
    assert.ok(a1.mask(text).includes('gamma-secret'), 'not a secret of this masker');
    assert.ok(!b.mask(text).includes('gamma-secret'));
    assert.ok(b.mask(text).includes('alpha-secret'));
    // A placeholder of one list does not unmask to a secret of another.
    assert.equal(b.unmask(a1.mask(text)).includes('beta-secret-longer'), false);
    // Lists that would join to the same text are still different lists.
    const joined = new SecretMasker(['abcd\u0000efgh']);
    const split = new SecretMasker(['abcd', 'efgh']);
    assert.match(split.mask('"abcd efgh"'), /^"\[REDACTED:\d+\] \[REDACTED:\d+\]"$/);
    assert.equal(joined.mask('"abcd efgh"'), '"abcd efgh"');
  });

  it('masks nothing without secrets, or with secrets too short to mask in data', () => {
    assert.equal(new SecretMasker([]).empty, true);
    const short = new SecretMasker(['abc']);
    assert.equal(short.empty, true);
    assert.equal(short.mask('"abc"'), '"abc"');
    assert.equal(short.redact('x abc y'), 'x [REDACTED] y');
  });
});

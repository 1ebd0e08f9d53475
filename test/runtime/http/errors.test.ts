import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bodyExcerpt,
  HttpCallError,
  HttpStatusError,
  HttpTimeoutError,
  redact,
  redactUrl,
  statusError,
} from '../../../src/runtime/http/errors.js';

const SECRET = 's3cr3t/key+value=';

test('redact masks a secret in raw, base64, base64url, URL- and form-encoded forms', () => {
  const b64 = Buffer.from(SECRET).toString('base64');
  const text = [SECRET, b64, Buffer.from(SECRET).toString('base64url'), encodeURIComponent(SECRET)].join(' | ');
  const out = redact(text, [SECRET]);
  assert.equal(out, '[REDACTED] | [REDACTED] | [REDACTED] | [REDACTED]');
  assert.equal(redact('pass=a%20b%20c and a+b+c', ['a b c']), 'pass=[REDACTED] and [REDACTED]');
});

test('redact masks the longer of overlapping secrets whole and ignores empty secrets', () => {
  assert.equal(redact('token abc123 and abc', ['abc', 'abc123', '']), 'token [REDACTED] and [REDACTED]');
  assert.equal(redact('nothing here', []), 'nothing here');
});

test('redactUrl masks secret-looking query values, declared secrets and the userinfo password', () => {
  const url = 'https://user:pw@api.example.com/v1/TENANTSECRET/items?api_key=abc&page=2&access_token=xyz&q=ok#frag';
  const out = redactUrl(url, ['TENANTSECRET']);
  assert.equal(out, 'https://user:REDACTED@api.example.com/v1/[REDACTED]/items?api_key=[REDACTED]&page=2&access_token=[REDACTED]&q=ok');
  assert.equal(redactUrl('not a url TENANTSECRET', ['TENANTSECRET']), 'not a url [REDACTED]');
});

test('bodyExcerpt redacts before truncating, so a secret on the cut is not leaked', () => {
  const body = Buffer.from('x'.repeat(495) + SECRET + 'y'.repeat(1000));
  const ex = bodyExcerpt(body, [SECRET]);
  assert.ok(!ex.includes(SECRET.slice(0, 5)), 'no part of the secret');
  assert.ok(ex.length <= 501);
  assert.ok(ex.endsWith('…'));
  assert.equal(bodyExcerpt('short', []), 'short');
});

test('statusError builds a redacted HttpStatusError from a response', () => {
  const err = statusError(
    { status: 401, body: Buffer.from(`{"error":"bad key ${SECRET}"}`), url: `https://api.example.com/x?key=${SECRET}`, attempts: 2 },
    { method: 'POST', secrets: [SECRET] },
  );
  assert.ok(err instanceof HttpStatusError && err instanceof HttpCallError);
  assert.equal(err.kind, 'status');
  assert.equal(err.status, 401);
  assert.equal(err.attempts, 2);
  assert.equal(err.bodyExcerpt, '{"error":"bad key [REDACTED]"}');
  assert.equal(err.url, 'https://api.example.com/x?key=[REDACTED]');
  assert.ok(!err.message.includes(SECRET));
  assert.match(err.message, /^POST https:\/\/api\.example\.com\/x\?key=\[REDACTED\] failed \(status\): HTTP 401$/);
});

test('HttpTimeoutError carries its phase', () => {
  const err = new HttpTimeoutError('headers', { reason: 'headers timeout after 5 ms', url: 'http://x/' });
  assert.equal(err.kind, 'timeout');
  assert.equal(err.phase, 'headers');
  assert.equal(err.name, 'HttpTimeoutError');
  assert.equal(err.attempts, 1);
});

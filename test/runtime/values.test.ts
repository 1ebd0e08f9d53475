// Unit tests of the small compiled parts: templates, dates, coercion, paths, Link headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, compileUrlTemplate } from '../../src/runtime/template.js';
import { canonicalUtcIso, compileDateFormat, parseIso8601 } from '../../src/runtime/datetime.js';
import { compileCoercer, toDecimalString, FileValue } from '../../src/runtime/coerce.js';
import { compileArrayPath, compilePath } from '../../src/runtime/path.js';
import { linkTarget } from '../../src/runtime/paging/response-reader.js';
import { effectiveRateLimits } from '../../src/runtime/rate-limits.js';
import { FieldCoercionError, MethodInputError } from '../../src/runtime/errors.js';

test('templates compile once and render variables, formats and missing values', () => {
  const t = compileTemplate('Bearer {{ApiKey}} / {{ Missing }} / {{When format=yyyy-MM-dd HH:mm}}');
  assert.deepEqual(t.variables, ['ApiKey', 'Missing', 'When']);
  assert.equal(t.isStatic, false);
  assert.equal(t({ ApiKey: 'k1', When: '2024-05-06T07:08:09Z' }), 'Bearer k1 /  / 2024-05-06 07:08');
  assert.equal(t({ ApiKey: 2, When: new Date(Date.UTC(2000, 0, 2, 3, 4)) }), 'Bearer 2 /  / 2000-01-02 03:04');
  const s = compileTemplate('plain');
  assert.equal(s.isStatic, true);
  assert.equal(s({}), 'plain');
  assert.equal(compileTemplate('{{T format=unix}}')({ T: '1970-01-02T00:00:00Z' }), '86400');
  assert.deepEqual(compileTemplate('{{CYCLR_PAGE_NUMBER}}').variables, ['PAGE_NUMBER']);
});

test('URL templates encode path/query values, check host values and keep a leading origin raw', () => {
  const u = compileUrlTemplate('https://{{Sub}}.example.com/a/{{Id}}?q={{Q}}');
  assert.equal(u({ Sub: 'acme-eu', Id: 'x/y z', Q: 'a&b' }), 'https://acme-eu.example.com/a/x%2Fy%20z?q=a%26b');
  assert.throws(() => u({ Sub: 'a@evil.com', Id: '1', Q: '' }), MethodInputError);
  const origin = compileUrlTemplate('{{InstanceUrl}}/services/{{V}}');
  assert.equal(origin({ InstanceUrl: 'https://na1.example.com', V: 'v5/0' }), 'https://na1.example.com/services/v5%2F0');
});

test('date formats: iso8601, unix, unixms and patterns parse and format', () => {
  assert.equal(parseIso8601('2024-02-29T23:30:00-01:30')?.toISOString(), '2024-03-01T01:00:00.000Z');
  assert.equal(parseIso8601('2023-02-29'), undefined);
  assert.equal(canonicalUtcIso('2024-02-29T23:59:59.123Z'), '2024-02-29T23:59:59.123Z');
  assert.equal(canonicalUtcIso('2024-01-02T10:00:00Z'), '2024-01-02T10:00:00.000Z');
  for (const bad of ['2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-02T24:00:00Z', '2024-01-02T10:00:00.12xZ', '2024-01-02 10:00:00Z', '2024-01-02T10:00:00+0000']) {
    assert.equal(canonicalUtcIso(bad), undefined, bad);
  }
  assert.equal(compileDateFormat('iso8601').parse('Tue, 15 Nov 1994 08:12:31 GMT')?.toISOString(), '1994-11-15T08:12:31.000Z');
  const p = compileDateFormat("dd.MM.yyyy 'at' hh:mm tt");
  const d = p.parse('07.08.2021 at 03:04 PM')!;
  assert.equal(d.toISOString(), '2021-08-07T15:04:00.000Z');
  assert.equal(p.format(d), '07.08.2021 at 03:04 PM');
  assert.equal(compileDateFormat('yyyy-MM-ddTHH:mm:ssK').parse('2020-01-01T00:00:00+01:00')?.toISOString(), '2019-12-31T23:00:00.000Z');
  assert.equal(compileDateFormat('unix').format(new Date(1500)), 1);
  assert.equal(compileDateFormat('unixms').format(new Date(1500)), 1500);
  assert.equal(compileDateFormat('yyyy-MM-dd').parse('2024-13-01'), undefined);
});

test('decimal keeps exact text, rounds half away from zero to 12 places', () => {
  assert.equal(toDecimalString('0.1'), '0.1');
  assert.equal(toDecimalString(0.1), '0.1');
  assert.equal(toDecimalString('12.50'), '12.50');
  assert.equal(toDecimalString('+007.25'), '7.25');
  assert.equal(toDecimalString('1.0000000000005'), '1.000000000001');
  assert.equal(toDecimalString('-1.0000000000005'), '-1.000000000001');
  assert.equal(toDecimalString('9.9999999999999'), '10');
  assert.equal(toDecimalString('1e-7'), '0.0000001');
  assert.equal(toDecimalString('1.5E3'), '1500');
  assert.equal(toDecimalString('12345678901234567890.123'), '12345678901234567890.123');
  assert.equal(toDecimalString('-0.0000000000001'), '0');
  assert.equal(toDecimalString('abc'), undefined);
  assert.equal(toDecimalString('.'), undefined);
});

test('coercers: response and request directions', () => {
  const int = compileCoercer({ field: 'N', type: 'integer' }, 'response');
  assert.equal(int('42'), 42);
  assert.equal(int(' -3 '), -3);
  assert.equal(int('5.0'), 5);
  assert.equal(int(''), null);
  assert.throws(() => int('5.5'), FieldCoercionError);
  assert.throws(() => int(2 ** 60), /safe integer/);
  assert.throws(() => int(true), /field "N": cannot convert true to integer/);
  const dt = compileCoercer({ field: 'D', type: 'datetime' }, 'response');
  assert.equal(dt('2024-01-02T10:00:00Z'), '2024-01-02T10:00:00.000Z');
  assert.equal(dt('2024-02-29T23:59:59.123Z'), '2024-02-29T23:59:59.123Z');
  assert.throws(() => dt('2023-02-29T00:00:00Z'), /field "D"/);
  assert.throws(() => dt('2023-04-31T00:00:00Z'), /field "D"/);
  assert.equal(dt('2024-01-02T10:00:00+01:00'), '2024-01-02T09:00:00.000Z');
  const dec = compileCoercer({ field: 'P', type: 'decimal' }, 'response');
  assert.deepEqual(['-0.5', '-0.0', '0', '10', '-3.25'].map(dec), ['-0.5', '0.0', '0', '10', '-3.25']);
  const bool = compileCoercer({ field: 'B', type: 'boolean' }, 'response');
  assert.deepEqual(['TRUE', '1', 'yes', 'Y', 'on', 'false', '0', 'no', 'off', 1, 0].map(bool), [true, true, true, true, true, false, false, false, false, true, false]);
  assert.throws(() => bool('maybe'), /cannot convert "maybe" to boolean/);
  const text = compileCoercer({ field: 'T' }, 'response');
  assert.equal(text({ a: 1 }), '{"a":1}');
  assert.equal(text(''), '');
  const reqDate = compileCoercer({ field: 'D', type: 'datetime', format: 'yyyy-MM-dd' }, 'request');
  assert.equal(reqDate('2024-06-07T23:59:59Z'), '2024-06-07');
  const reqUnix = compileCoercer({ field: 'D', type: 'datetime', format: 'unix' }, 'request');
  assert.equal(reqUnix('1970-01-01T00:01:00Z'), 60);
  assert.equal(compileCoercer({ field: 'P', type: 'decimal' }, 'request')('19.90'), 19.9);
  const file = compileCoercer({ field: 'F', type: 'file' }, 'request')({ fileName: 'a.txt', text: 'hi' });
  assert.ok(file instanceof FileValue && file.content.toString() === 'hi' && file.fileName === 'a.txt');
  assert.throws(() => compileCoercer({ field: 'F', type: 'file' }, 'request')(5), /field "F"/);
});

test('paths: get/set/replace with indexes, [] fan-out, Cyclr [array] and escaped dots', () => {
  const data = { a: { 'b.c': [{ id: 1 }, { id: 2 }, { id: 3 }] }, items: [{ tags: ['x'] }, { tags: ['y', 'z'] }] };
  assert.equal(compilePath('a.\\b.c\\[0].id').get(data), 1);
  assert.equal(compilePath('a.\\b.c\\[-1].id').get(data), 3);
  assert.deepEqual(compilePath('items[].tags[0]').get(data), ['x', 'y']);
  assert.deepEqual(compilePath('[items].tags').get(data), [['x'], ['y', 'z']]);
  assert.equal(compilePath('').get(data), data);
  assert.equal(compilePath('nope.deeper').get(data), undefined);
  assert.equal(compilePath('toString').get({}), undefined);
  assert.deepEqual(compilePath('records[].Email').set(undefined, ['a', 'b']), { records: [{ Email: 'a' }, { Email: 'b' }] });
  assert.deepEqual(compilePath('x.y[0].z').set({}, 5), { x: { y: [{ z: 5 }] } });
  const original = { data: { records: [1, 2, 3], keep: true } };
  const replaced = compileArrayPath('data.[records]').replace(original, [9]);
  assert.deepEqual(replaced, { data: { records: [9], keep: true } });
  assert.deepEqual(original.data.records, [1, 2, 3]);
  assert.throws(() => compilePath('__proto__.polluted'));
});

test('Link header: rel="next" among several links, with commas in URLs', () => {
  const header = '<https://api.example.com/x?page=1&a=1,2>; rel="prev", <https://api.example.com/x?page=3&a=1,2>; rel="next last"';
  assert.equal(linkTarget(header), 'https://api.example.com/x?page=3&a=1,2');
  assert.equal(linkTarget('</x?page=2>; rel=next'), '/x?page=2');
  assert.equal(linkTarget('<https://a/x>; rel="last"'), undefined);
  assert.equal(linkTarget(undefined), undefined);
});

test('rate limits: method override replaces, otherwise the stricter applies', () => {
  assert.deepEqual(effectiveRateLimits({ requestsPerSecond: 5 }, { requestsPerSecond: 2 }), { requestsPerSecond: 2 });
  assert.deepEqual(effectiveRateLimits({ requestsPerSecond: 5, secondsBetweenRequests: 1 }, { secondsBetweenRequests: 3 }), { requestsPerSecond: 5, secondsBetweenRequests: 3 });
  assert.deepEqual(effectiveRateLimits({ requestsPerSecond: 1 }, { requestsPerSecond: 50, override: true }), { requestsPerSecond: 50 });
  assert.equal(effectiveRateLimits(undefined, undefined), undefined);
});

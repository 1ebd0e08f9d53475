import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createVerify, generateKeyPairSync } from 'node:crypto';
import { ENGINES, createRunner, freshKey, runnerFor } from './engines.js';
import { atobCharset, btoaCharset } from '../../src/scripting/helpers/charsets.js';
import { cyclrCsvParse } from '../../src/scripting/helpers/csv.js';
import { addToDate, diffDates, formatDate, parseDate, startOfDate } from '../../src/scripting/helpers/dates.js';
import { cyclrSign } from '../../src/scripting/helpers/sign.js';
import { cyclrXmlDeserialize, cyclrXmlSerialize } from '../../src/scripting/helpers/xml.js';
import { MemoryKeyValueStore } from '../../src/scripting/script-host.js';
import type { ScriptHost } from '../../src/scripting/script-host.js';

describe('btoa/atob charsets', () => {
  test("Cyclr's documented examples", () => {
    assert.equal(btoaCharset('apple pie'), 'YXBwbGUgcGll');
    assert.equal(atobCharset('YXBwbGUgcGll'), 'apple pie');
    assert.equal(btoaCharset('Hĕllō Wōrld'), 'SMSVbGzFjSBXxY1ybGQ=');
    assert.equal(atobCharset('SMSVbGzFjSBXxY1ybGQ='), 'Hĕllō Wōrld');
    assert.equal(btoaCharset('Hĕllō Wōrld', 'ascii'), 'SD9sbD8gVz9ybGQ=');
    assert.equal(atobCharset('SD9sbD8gVz9ybGQ=', 'ascii'), 'H?ll? W?rld');
    // .NET's Latin-1 encoder maps letters outside Latin-1 to their base letter.
    assert.equal(btoaCharset('Hĕllō Wōrld', 'iso-8859-1'), 'SGVsbG8gV29ybGQ=');
    assert.equal(atobCharset(btoaCharset('café £5', 'ISO-8859-1'), 'ISO-8859-1'), 'café £5');
  });

  test('UTF-16 (little-endian), UTF-16BE, UTF-32 and their round trips', () => {
    assert.equal(btoaCharset('Hi', 'UTF-16'), Buffer.from([0x48, 0, 0x69, 0]).toString('base64'));
    assert.equal(btoaCharset('Hi', 'UTF-16LE'), btoaCharset('Hi', 'unicode'));
    assert.equal(btoaCharset('Hi', 'UTF-16BE'), Buffer.from([0, 0x48, 0, 0x69]).toString('base64'));
    assert.equal(btoaCharset('A😀', 'UTF-32BE'), Buffer.from([0, 0, 0, 0x41, 0, 0x01, 0xf6, 0x00]).toString('base64'));
    for (const cs of ['UTF-8', 'UTF-16', 'UTF-16LE', 'UTF-16BE', 'UTF-32', 'UTF-32LE', 'UTF-32BE', 'UTF-7']) {
      const text = 'Grüße, 世界 + 😀 ~ "quotes" +-';
      assert.equal(atobCharset(btoaCharset(text, cs), cs), text, cs);
    }
  });

  test('UTF-7 as RFC 2152', () => {
    assert.equal(Buffer.from(btoaCharset('Hi Mom -☺-!', 'UTF-7'), 'base64').toString('ascii'), 'Hi Mom -+Jjo--+ACE-');
    assert.equal(atobCharset(Buffer.from('A+ImIDkQ.').toString('base64'), 'utf-7'), 'A≢Α.');
    assert.equal(atobCharset(Buffer.from('1 +- 1').toString('base64'), 'utf-7'), '1 + 1');
  });

  test('other charsets decode through TextDecoder; bad input and unknown charsets are errors', () => {
    assert.equal(atobCharset(Buffer.from([0xa3]).toString('base64'), 'iso-8859-2'), 'Ł');
    assert.equal(atobCharset(Buffer.from([0x82, 0xa0]).toString('base64'), 'Shift_JIS'), 'あ');
    assert.throws(() => btoaCharset('x', 'klingon'), /unsupported charset/);
    assert.throws(() => atobCharset('%%%'), /not valid base64/);
  });
});

describe('cyclr_sign, CSV, XML and dates (host functions)', () => {
  test('cyclr_sign: HMAC-SHA1/256/512 and RSA-SHA*', () => {
    const key = 'This is the signing key.';
    const value = 'This is the string to sign.';
    assert.equal(cyclrSign('HMAC-SHA1', key, value), createHmac('sha1', key).update(value).digest('base64'));
    assert.equal(cyclrSign('hmac-sha256', key, value), createHmac('sha256', key).update(value).digest('base64'));
    assert.equal(cyclrSign('HMAC-SHA512', key, value), createHmac('sha512', key).update(value).digest('base64'));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    for (const alg of ['RSA-SHA1', 'RSA-SHA224', 'RSA-SHA256', 'RSA-SHA384', 'RSA-SHA512']) {
      const sig = cyclrSign(alg, pem, value);
      assert.ok(createVerify(alg).update(value).verify(publicKey, sig, 'base64'), alg);
    }
    assert.throws(() => cyclrSign('MD5', key, value), /unsupported algorithm/);
    assert.throws(() => cyclrSign('RSA-SHA256', 'not a key at all', value), (e: Error) => /not a valid PEM/.test(e.message) && !e.message.includes('not a key at all'));
  });

  test('cyclr_csv_parse: Field1… without a header, header names with one; quotes and line breaks', () => {
    assert.deepEqual(cyclrCsvParse('1,2,3\na,b,c', ',', false), [
      { Field1: '1', Field2: '2', Field3: '3' },
      { Field1: 'a', Field2: 'b', Field3: 'c' },
    ]);
    assert.deepEqual(cyclrCsvParse('name;note\r\n"Doe; J";"said ""hi""\nthen left"\r\n', ';', true), [{ name: 'Doe; J', note: 'said "hi"\nthen left' }]);
    const polluted = cyclrCsvParse('__proto__,b\nx,y', ',', true);
    assert.equal(Object.getPrototypeOf(polluted[0]), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(polluted[0], '__proto__')?.value, 'x');
    assert.equal(({} as Record<string, unknown>).b, undefined);
  });

  test('cyclr_xml_serialize / cyclr_xml_deserialize round trip, attributes as @_', () => {
    const xml = cyclrXmlSerialize({ Order: { '@_id': '7', Line: [{ Sku: 'A' }, { Sku: 'B' }] } });
    assert.equal(xml, '<Order id="7"><Line><Sku>A</Sku></Line><Line><Sku>B</Sku></Line></Order>');
    assert.deepEqual(cyclrXmlDeserialize(xml), { Order: { '@_id': '7', Line: [{ Sku: 'A' }, { Sku: 'B' }] } });
    assert.throws(() => cyclrXmlDeserialize('<a><b></a>'), /malformed XML/);
  });

  test('plexus_date: formats and parses in time zones, DST-aware arithmetic', () => {
    assert.equal(formatDate('2024-01-15T12:00:00Z', 'yyyy-MM-dd HH:mm zzz', 'America/New_York'), '2024-01-15 07:00 -05:00');
    assert.equal(formatDate('2024-07-15T12:00:00Z', 'iso', 'America/New_York'), '2024-07-15T08:00:00.000-04:00');
    assert.equal(formatDate('2024-07-15T12:00:00Z'), '2024-07-15T12:00:00.000Z');
    assert.equal(formatDate(0, 'dddd d MMMM yyyy h:mm tt', 'Asia/Tokyo'), 'Thursday 1 January 1970 9:00 AM');
    assert.equal(formatDate('2024-03-01T00:00:00Z', 'unix'), 1709251200);
    assert.equal(parseDate('2024-03-10 09:30', 'yyyy-MM-dd HH:mm', 'Europe/London'), '2024-03-10T09:30:00.000Z');
    assert.equal(parseDate('2024-07-10 09:30', 'yyyy-MM-dd HH:mm', 'Europe/London'), '2024-07-10T08:30:00.000Z');
    assert.equal(parseDate('2024-07-10T09:30:00+02:00'), '2024-07-10T07:30:00.000Z');
    assert.equal(parseDate('nonsense'), null);
    // New York springs forward on 2024-03-10: +1 day keeps 09:00 local.
    assert.equal(addToDate('2024-03-09T14:00:00Z', 1, 'days', 'America/New_York'), '2024-03-10T13:00:00.000Z');
    assert.equal(addToDate('2024-01-31T00:00:00Z', 1, 'month'), '2024-02-29T00:00:00.000Z');
    assert.equal(addToDate('2024-01-31T00:00:00Z', 90, 'minutes'), '2024-01-31T01:30:00.000Z');
    assert.equal(startOfDate('2024-07-10T02:30:00Z', 'day', 'America/Los_Angeles'), '2024-07-09T07:00:00.000Z');
    assert.equal(diffDates('2024-03-01T00:00:00Z', '2024-01-15T00:00:00Z', 'months'), 1);
    assert.equal(diffDates('2024-01-02T00:00:00Z', '2024-01-01T00:00:00Z', 'hours'), 24);
    assert.throws(() => formatDate('2024-01-01', 'iso', 'Mars/Olympus'), /unknown time zone/);
  });
});

for (const engine of ENGINES) {
  describe(`helpers in scripts on ${engine}`, () => {
    const run = async (source: string, host?: ScriptHost, globals: Record<string, unknown> = {}) =>
      (await runnerFor(engine)).runEvent({ event: 'after_action', isolationKey: freshKey(), sources: { method: source }, globals: { method_response: null, ...globals }, host });

    test('btoa/atob, cyclr_sign, CSV, XML and plexus_date are callable from scripts', async () => {
      const r = await run(`function after_action() {
        method_response = {
          b64: btoa('Hĕllō Wōrld', 'ascii'), back: atob(btoa('Grüße', 'UTF-16BE'), 'UTF-16BE'),
          sig: cyclr_sign('HMAC-SHA256', 'k', 'v'),
          csv: cyclr_csv_parse('a,b\\n1,2', ',', true),
          xml: cyclr_xml_deserialize(cyclr_xml_serialize({ root: { x: '1' } })),
          local: plexus_date.format('2024-01-15T12:00:00Z', 'HH:mm', 'Europe/Paris'),
          added: plexus_date.add(new Date(Date.UTC(2024, 0, 1)), 2, 'days'),
          valid: plexus_date.isValid('2024-02-30'),
          now: typeof plexus_date.now()
        };
        return true;
      }`);
      assert.deepEqual(r.globals.method_response, {
        b64: 'SD9sbD8gVz9ybGQ=',
        back: 'Grüße',
        sig: createHmac('sha256', 'k').update('v').digest('base64'),
        csv: [{ a: '1', b: '2' }],
        xml: { root: { x: '1' } },
        local: '13:00',
        added: '2024-01-03T00:00:00.000Z',
        valid: false,
        now: 'string',
      });
    });

    test('a helper error is a catchable exception inside the script', async () => {
      const r = await run(`function after_action() {
        try { atob('%%%') } catch (e) { method_response = e instanceof Error ? e.message : 'not an Error' }
        return true;
      }`);
      assert.equal(r.globals.method_response, 'atob: the value is not valid base64');
    });

    test('console output is captured, levelled, capped and truncated', async () => {
      const runner = await createRunner(engine, { limits: { maxLogEntries: 3 } });
      const r = await runner.runEvent({
        event: 'after_action',
        isolationKey: freshKey(),
        sources: { method: "function after_action() { console.log('a', 1, {b: 2}); console.warn('w'); console.error(new TypeError('bad')); console.info('x'.repeat(5000)); console.debug('dropped'); return true }" },
        globals: {},
      });
      assert.deepEqual(r.logs.slice(0, 3), [
        { level: 'info', message: 'a 1 {"b":2}' },
        { level: 'warn', message: 'w' },
        { level: 'error', message: 'TypeError: bad' },
      ]);
      assert.equal(r.logs.length, 3);
      assert.equal(r.droppedLogs, 2);
      const long = await runner.runEvent({ event: 'after_action', isolationKey: freshKey(), sources: { method: "function after_action() { console.info('x'.repeat(5000)); return true }" }, globals: {} });
      assert.ok(long.logs[0]!.message.length <= 2002);
    });

    test('require() and lazy globals for configured libraries', async () => {
      const runner = await createRunner(engine, {
        libraries: [
          { name: 'tiny', global: 'tiny', source: 'module.exports = { double: function (n) { return n * 2 } };' },
          { name: 'uses-tiny', source: "var t = require('tiny'); exports.quad = function (n) { return t.double(t.double(n)) };" },
        ],
      });
      const r = await runner.runEvent({
        event: 'after_action',
        isolationKey: freshKey(),
        sources: { method: "function after_action() { var missing; try { require('fs') } catch (e) { missing = e.message } method_response = [tiny.double(2), require('uses-tiny').quad(3), missing]; return true }" },
        globals: {},
      });
      assert.deepEqual(r.globals.method_response, [4, 12, "Cannot find module 'fs'"]);
    });

    test('storage helpers: every operation, connector and cycle scopes apart', async () => {
      const connector = new MemoryKeyValueStore();
      const cycle = new MemoryKeyValueStore();
      const r = await run(
        `function after_action() {
          cyclr_storage_set('token', { v: 1 });
          cycle_storage_set('token', 'cycle-only');
          cyclr_storage_append('seen', 'a'); cyclr_storage_append('seen', 'b');
          cyclr_storage_increment('n', 5); cyclr_storage_decrement('n', 2); cyclr_storage_increment('n');
          var snapshot = { token: cyclr_storage_get('token'), cycleToken: cycle_storage_get('token'), seen: cyclr_storage_get('seen'), n: cyclr_storage_get('n'),
            keys: cyclr_storage_list_keys(), values: cyclr_storage_list_values(), missing: cyclr_storage_get('nope') };
          snapshot.deleted = cyclr_storage_delete('seen');
          snapshot.cleared = cycle_storage_delete_all();
          snapshot.after = cycle_storage_list_keys();
          method_response = snapshot;
          return true;
        }`,
        { storage: { connector, cycle } },
      );
      assert.deepEqual(r.result, { kind: 'ok' });
      assert.deepEqual(r.globals.method_response, {
        token: { v: 1 },
        cycleToken: 'cycle-only',
        seen: ['a', 'b'],
        n: 4,
        keys: ['n', 'seen', 'token'],
        values: [4, ['a', 'b'], { v: 1 }],
        missing: null,
        deleted: true,
        cleared: 1,
        after: [],
      });
      assert.deepEqual(await connector.listKeys(), ['n', 'token']);
      const none = await run("function after_action() { try { cycle_storage_get('x') } catch (e) { method_response = e.message } return true }", { storage: { connector } });
      assert.equal(none.globals.method_response, 'cycle_storage_get is not available here');
    });

    test('host calls reached under another name still work (the execution is re-run where they can)', async () => {
      const connector = new MemoryKeyValueStore();
      await connector.set('k', 'v');
      const r = await run("function after_action() { var name = ['cyclr', 'storage', 'get'].join(String.fromCharCode(95)); method_response = globalThis[name]('k'); return true }", { storage: { connector } });
      assert.deepEqual(r.result, { kind: 'ok' });
      assert.equal(r.globals.method_response, 'v');
    });
  });
}

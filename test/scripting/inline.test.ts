import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, freshKey, runnerFor } from './engines.js';
import { rewriteInlineExpression } from '../../src/scripting/inline-expression.js';

describe('inline expression rewrite', () => {
  test('Cyclr merge-field tokens become reads of the data, by name only', () => {
    assert.equal(rewriteInlineExpression("=`[Name]` === '' ? 'no value' : `[Name]`;"), "`${__plexus_fields[\"Name\"] ?? ''}` === '' ? 'no value' : `${__plexus_fields[\"Name\"] ?? ''}`;");
    assert.equal(rewriteInlineExpression('=[Amount] * 2', new Set(['Amount'])), '(__plexus_fields["Amount"]) * 2');
    assert.equal(rewriteInlineExpression('=[First Name]', new Set(['First Name'])), '(__plexus_fields["First Name"])');
  });

  test('tokens inside strings, comments, regexes and member access are left alone', () => {
    const known = new Set(['x', 'Name']);
    assert.equal(rewriteInlineExpression("='[Name]' + \"[Name]\"", known), "'[Name]' + \"[Name]\"");
    assert.equal(rewriteInlineExpression('=a[x] // [Name]\n/* [Name] */', known), 'a[x] // [Name]\n/* [Name] */');
    assert.equal(rewriteInlineExpression('=/[x]/.test(s) ? [x] : 0', known), '/[x]/.test(s) ? (__plexus_fields["x"]) : 0');
    assert.equal(rewriteInlineExpression('=`a ${[x]} b`', known), '`a ${(__plexus_fields["x"])} b`');
    assert.equal(rewriteInlineExpression('=[1, 2].length + [y]', known), '[1, 2].length + [y]');
    assert.equal(rewriteInlineExpression('=`[Name` + 1', known), '`[Name` + 1');
  });
});

for (const engine of ENGINES) {
  describe(`inline scripts on ${engine}`, () => {
    const evaluate = async (expression: string, data: Record<string, unknown>) => (await runnerFor(engine)).evalExpression(expression, data, { isolationKey: freshKey() });

    test("Cyclr's documented inline forms", async () => {
      assert.deepEqual(await evaluate('=(100 * 2)', {}), { ok: true, value: 200, logs: [] });
      const expr = "=`[Mergefield]` === '' ? 'no value' : `[Mergefield]`;";
      assert.deepEqual(await evaluate(expr, { Mergefield: '' }), { ok: true, value: 'no value', logs: [] });
      assert.deepEqual(await evaluate(expr, { Mergefield: 'hello' }), { ok: true, value: 'hello', logs: [] });
      assert.deepEqual(await evaluate(expr, {}), { ok: true, value: 'no value', logs: [] });
      assert.deepEqual(await evaluate('=[Qty] * [Price]', { Qty: 3, Price: 2.5 }), { ok: true, value: 7.5, logs: [] });
      assert.deepEqual(await evaluate("=fields.Email.split('@')[1]", { Email: 'ada@example.com' }), { ok: true, value: 'example.com', logs: [] });
      assert.deepEqual(await evaluate("=plexus_date.format(fields.When, 'yyyy-MM-dd', 'Asia/Tokyo')", { When: '2024-01-31T20:00:00Z' }), { ok: true, value: '2024-02-01', logs: [] });
      assert.deepEqual(await evaluate('=var total = 0; for (var i = 0; i < fields.items.length; i++) total += fields.items[i]; total', { items: [1, 2, 3] }), { ok: true, value: 6, logs: [] });
    });

    test('values with quotes, backticks, ${} and line breaks neither break nor inject code', async () => {
      const hostile = [
        "O'Brien",
        'say "hi"',
        '`; globalThis.pwned = 1; `',
        '${globalThis.pwned = 1}',
        "'); globalThis.pwned = 1; ('",
        '\\`${1+1}\\`',
        'line\nbreak\r\n\u2028sep',
        ']` + (globalThis.pwned = 1) + `[',
        '</script><script>alert(1)</script>',
      ];
      for (const value of hostile) {
        const r = await evaluate("=`[Name]` + '|' + typeof globalThis.pwned", { Name: value });
        assert.deepEqual(r, { ok: true, value: `${value}|undefined`, logs: [] }, value);
        const bare = await evaluate('=[Name]', { Name: value });
        assert.deepEqual(bare, { ok: true, value, logs: [] });
      }
      const obj = await evaluate('=[Obj].a', { Obj: { a: '`${x}`' } });
      assert.deepEqual(obj, { ok: true, value: '`${x}`', logs: [] });
    });

    test('fields are read-only data; the expression sees no script globals', async () => {
      const r = await evaluate("=(function () { 'use strict'; try { fields.Name = 'changed'; return 'mutable' } catch (e) { return 'frozen' } })() + ':' + typeof method_request + ':' + typeof cycle_variables", { Name: 'x' });
      assert.deepEqual(r, { ok: true, value: 'frozen:undefined:undefined', logs: [] });
    });

    test('errors carry the expression level, line and column', async () => {
      const r = await evaluate('=fields.missing.deeper', {});
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.error.code, 'SCRIPT_ERROR');
      assert.equal(r.error.level, 'expression');
      assert.equal(r.error.name, 'TypeError');
      const syntax = await evaluate('=1 +', {});
      assert.ok(!syntax.ok && syntax.error.name === 'SyntaxError');
    });
  });
}

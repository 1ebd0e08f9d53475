import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { DefinitionSyntaxError, locateJsonError, parseDefinitionText } from '../../src/definition/parse.js'

const fixtureText = readFileSync(new URL('../fixtures/definitions/acme-crm.yaml', import.meta.url), 'utf8')

function syntaxError(text: string, format?: 'json' | 'yaml'): DefinitionSyntaxError {
  try {
    parseDefinitionText(text, format)
  } catch (e) {
    assert.ok(e instanceof DefinitionSyntaxError, `expected DefinitionSyntaxError, got ${e}`)
    return e
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`)
}

test('YAML fixture parses to a release with settings and definition', () => {
  const release = parseDefinitionText(fixtureText) as { settings: { status: string }; definition: { methods: { id: string }[] } }
  assert.equal(release.settings.status, 'Approved')
  assert.ok(release.definition.methods.some((m) => m.id === 'list-contacts'))
})

test('JSON is auto-detected and gives the same value as the YAML', () => {
  const fromYaml = parseDefinitionText(fixtureText)
  const json = JSON.stringify(fromYaml, null, 2)
  assert.deepEqual(parseDefinitionText(json), fromYaml)
  assert.deepEqual(parseDefinitionText(json, 'json'), fromYaml)
  assert.deepEqual(parseDefinitionText(`  \n${json}`), fromYaml, 'leading blank lines do not hide the JSON')
})

test('a byte-order mark is ignored', () => {
  assert.deepEqual(parseDefinitionText('\uFEFF{"baseUrl": "https://x"}'), { baseUrl: 'https://x' })
  assert.deepEqual(parseDefinitionText('\uFEFFbaseUrl: https://x'), { baseUrl: 'https://x' })
})

test('JSON syntax errors carry line and column', () => {
  const e = syntaxError('{\n  "baseUrl": "https://x",\n  "methods": [1, 2,]\n}')
  assert.equal(e.format, 'json')
  assert.equal(e.line, 3)
  assert.equal(e.column, 20)
  assert.match(e.message, /^invalid JSON at line 3, column 20: /)
  assert.equal(e.code, 'DEFINITION_SYNTAX')
})

test('truncated JSON points at the end of the text', () => {
  const e = syntaxError('{\n  "a": [1, 2')
  assert.deepEqual([e.line, e.column], [2, 13], 'just after the last character')
})

test('text after the JSON value is an error at that text', () => {
  const e = syntaxError('{"a": 1}\nmore')
  assert.deepEqual([e.line, e.column], [2, 1])
})

test('format json refuses YAML, with a position', () => {
  const e = syntaxError('baseUrl: https://x', 'json')
  assert.deepEqual([e.format, e.line, e.column], ['json', 1, 1])
  assert.match(e.message, /Unexpected token/)
})

test('format yaml accepts flow-style YAML that is not JSON', () => {
  assert.deepEqual(parseDefinitionText('{ baseUrl: https://x }', 'yaml'), { baseUrl: 'https://x' })
  // Without a format, a leading `{` means JSON, so this is a JSON error.
  assert.equal(syntaxError('{ baseUrl: https://x }').format, 'json')
})

test('YAML syntax errors carry line and column', () => {
  const e = syntaxError('definition:\n  methods: [1, 2\nsettings: {}\n')
  assert.equal(e.format, 'yaml')
  assert.equal(e.line, 3)
  assert.ok(e.column && e.column >= 1)
  assert.match(e.message, /^invalid YAML at line 3, column \d+: /)
})

test('duplicate YAML keys are an error at the second key', () => {
  const e = syntaxError('baseUrl: https://a\nbaseUrl: https://b\n')
  assert.equal(e.line, 2)
  assert.match(e.reason, /unique/)
})

test('several YAML documents are refused', () => {
  const e = syntaxError('baseUrl: https://a\n---\nbaseUrl: https://b\n')
  assert.match(e.message, /single YAML document/)
  assert.equal(e.line, 2)
})

test('a leading document marker is fine', () => {
  assert.deepEqual(parseDefinitionText('---\nbaseUrl: https://a\n'), { baseUrl: 'https://a' })
})

test('empty documents are refused', () => {
  assert.match(syntaxError('').message, /empty/)
  assert.match(syntaxError('   \n').message, /empty/)
  assert.match(syntaxError('# just a comment\n').message, /empty/)
})

test('YAML anchors resolve', () => {
  assert.deepEqual(parseDefinitionText('a: &f { x: 1 }\nb: *f\n'), { a: { x: 1 }, b: { x: 1 } })
})

test('locateJsonError finds the offending offset', () => {
  assert.equal(locateJsonError('{"a": tru}'), 6)
  assert.equal(locateJsonError('{"a": "\u0001"}'), 7)
  assert.equal(locateJsonError('{"a": "\\x"}'), 8)
  assert.equal(locateJsonError('[1 2]'), 3)
  assert.equal(locateJsonError('{"a" 1}'), 5)
  assert.equal(locateJsonError('01'), 1)
})

// docs/definition.md is the reference of the language: its examples must stay valid, and its
// tables must list every variable and lint code the code knows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parseDefinitionText } from '../../src/definition/parse.js'
import { formatProblems, type Problem } from '../../src/definition/problems.js'
import { checkReleaseForPush, checkShape, type ShapeName } from '../../src/definition/validate.js'
import { AUTH_VARIABLES, BUILT_IN_VARIABLES, PAGING_VARIABLES } from '../../src/definition/variables.js'
import { LINT_CODES } from '../../src/domain/lint.js'

const doc = readFileSync(new URL('../../docs/definition.md', import.meta.url), 'utf8')
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => ({ text: m[1], line: doc.slice(0, m.index).split('\n').length + 1 }))
const SHAPE_MARKERS: readonly string[] = ['definition', 'settings', 'authentication', 'parameter', 'field', 'lookup', 'webhookRouting', 'method']

/** A minimal release around `# method` examples: paging on, an absolute base URL. */
const aroundMethods = (methods: unknown[]) => ({
  settings: { inboundPaging: true, inboundPageSize: 100, outboundPaging: true, outboundPageSize: 50 },
  definition: { baseUrl: 'https://api.example.com', methods },
})

function check(marker: string, value: unknown): Problem[] {
  if (marker === 'release') return checkReleaseForPush(value as { settings?: unknown; definition?: unknown })
  if (marker === 'method') return checkReleaseForPush(aroundMethods(Array.isArray(value) ? value : [value]))
  const list = Array.isArray(value) && marker !== 'definition' && marker !== 'settings' ? value : [value]
  return list.flatMap((v, i) => checkShape(marker as ShapeName, v, list.length > 1 ? `/${i}` : ''))
}

test('the reference has examples', () => {
  assert.ok(blocks.length >= 30, `only ${blocks.length} YAML examples`)
})

test('every YAML example says how it is checked, and passes', () => {
  const counts = new Map<string, number>()
  for (const { text, line } of blocks) {
    const marker = /^# (\w+)/.exec(text)?.[1]
    assert.ok(marker && ['release', 'invalid', ...SHAPE_MARKERS].includes(marker), `docs/definition.md:${line}: first line must be "# <release|method|definition|…>"`)
    counts.set(marker, (counts.get(marker) ?? 0) + 1)
    const value = parseDefinitionText(text, 'yaml')
    if (marker === 'invalid') continue
    const problems = check(marker, value)
    assert.deepEqual(problems, [], `docs/definition.md:${line} (${marker}):\n${formatProblems(problems)}`)
  }
  assert.ok((counts.get('release') ?? 0) >= 8 && (counts.get('method') ?? 0) >= 10, JSON.stringify([...counts]))
})

test('every paging style has an example', () => {
  const methods = blocks.map((b) => b.text)
  const has = (re: RegExp) => methods.some((t) => re.test(t))
  assert.ok(has(/\{\{PAGE_NUMBER\}\}/), 'page number')
  assert.ok(has(/\{\{PAGE_OFFSET\}\}/), 'offset')
  assert.ok(has(/targetName: links\.next, value: "\{\{PAGE_NEXT_URL\}\}"/), 'next URL in the body')
  assert.ok(has(/targetName: "header:Link", value: "\{\{PAGE_NEXT_URL\}\}"/), 'Link header')
  assert.ok(has(/target: query, value: "\{\{PAGE_TOKEN\}\}"/), 'cursor')
  assert.ok(has(/PAGE_TOKEN_AFTER[\s\S]*PAGE_TOKEN_FILTER/) && has(/target: body, targetName: paging\.after/), 'several cursors in a POST body')
  assert.ok(has(/totalCountPath/) && has(/maxPages/), 'total count and maxPages')
  assert.ok(has(/outboundLocation/), 'outbound')
})

test('every authentication type, parameter target and scope, field type and body format has an example', () => {
  const all = blocks.map((b) => b.text).join('\n')
  for (const type of ['none', 'apiKey', 'basic', 'oauth2', 'authFields']) assert.match(all, new RegExp(`type: ${type}\\b`), type)
  for (const grant of ['authorizationCode', 'clientCredentials', 'password']) assert.match(all, new RegExp(`grant: ${grant}\\b`), grant)
  for (const target of ['header', 'query', 'mergeField', 'body', 'responseField', 'script']) assert.match(all, new RegExp(`target: ${target}\\b`), target)
  for (const scope of ['account', 'partner', 'fixed']) assert.match(all, new RegExp(`scope: ${scope}\\b`), scope)
  for (const type of ['text', 'integer', 'float', 'decimal', 'boolean', 'datetime', 'file']) assert.match(all, new RegExp(`type: ${type}\\b`), type)
  for (const format of ['iso8601', 'unix', 'unixms', 'yyyy-MM-dd']) assert.match(all, new RegExp(`format: ${format}\\b`), format)
  for (const format of ['form', 'xml', 'text', 'multipart']) assert.match(all, new RegExp(`format: ${format}\\b`), format)
})

test('the variables tables list every variable', () => {
  for (const name of [...Object.keys(BUILT_IN_VARIABLES), ...Object.keys(AUTH_VARIABLES), ...Object.keys(PAGING_VARIABLES), 'PAGE_TOKEN_<SUFFIX>']) {
    assert.ok(doc.includes(`\`${name}\``), `docs/definition.md does not document ${name}`)
  }
})

test('the lint table lists every warning code', () => {
  for (const code of Object.keys(LINT_CODES)) assert.ok(doc.includes(`| \`${code}\` |`), `docs/definition.md does not document ${code}`)
})

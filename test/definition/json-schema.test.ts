import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Compile } from 'typebox/compile'
import { connectorDefinitionJsonSchema, connectorDefinitionJsonSchemaText, JSON_SCHEMA_DIALECT } from '../../src/definition/json-schema.js'
import { loadRelease } from '../fixtures/definitions/index.js'

const committed = new URL('../../schemas/connector-definition.json', import.meta.url)

test('the committed JSON Schema matches the TypeBox schema (run scripts/write-schema.ts after changing schema.ts)', () => {
  assert.equal(readFileSync(committed, 'utf8'), connectorDefinitionJsonSchemaText(), 'schemas/connector-definition.json is stale: node --import tsx scripts/write-schema.ts')
})

test('the document is plain JSON with a dialect, an id and a title', () => {
  const doc = JSON.parse(readFileSync(committed, 'utf8'))
  assert.equal(doc.$schema, JSON_SCHEMA_DIALECT)
  assert.equal(doc.$id, 'https://plexus.dev/schemas/connector-definition.json')
  assert.equal(doc.title, 'Plexus connector definition')
  assert.deepEqual(Object.keys(doc.properties).sort(), ['authentications', 'baseUrl', 'definitionVersion', 'lookups', 'methods', 'migrations', 'paging', 'parameters', 'rateLimits', 'script', 'webhookRouting'])
  assert.deepEqual(connectorDefinitionJsonSchema, doc)
})

test('the published document validates definitions on its own', () => {
  // Compiled from the JSON text alone, as an external tool would use it.
  const validator = Compile(JSON.parse(readFileSync(committed, 'utf8')))
  assert.equal(validator.Check(loadRelease().definition), true)
  assert.equal(validator.Check({ methods: [{ id: 'a', name: 'A', type: 'actio' }] }), false)
  assert.equal(validator.Check({ authentications: [{ id: 'k', name: 'K', type: 'apiKey', in: 'header', grant: 'password' }] }), false)
})

test('template fields name the variables they allow', () => {
  const doc = connectorDefinitionJsonSchema as { properties: Record<string, { description?: string }> }
  assert.match(doc.properties.baseUrl.description ?? '', /Variables: connector parameters, auth and built-in variables/)
})

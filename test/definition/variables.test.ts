import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  AUTH_VARIABLES,
  BUILT_IN_VARIABLES,
  PAGING_VARIABLES,
  canonicalVariable,
  isBuiltInVariable,
  isIgnoreParameterValue,
  isPageTokenVariable,
  isPagingVariable,
  scanTemplate,
  templateVariables,
} from '../../src/definition/variables.js'

test('the built-in variables are exactly the platform ones', () => {
  assert.deepEqual(Object.keys(BUILT_IN_VARIABLES).sort(), ['AccountId', 'CycleId', 'ExternalAccountId', 'LastSuccessfulRunDate', 'TransactionId', 'Webhook_Id', 'Webhook_Url'])
  const withFormat = Object.entries(BUILT_IN_VARIABLES).filter(([, v]) => v.acceptsFormat).map(([k]) => k)
  assert.deepEqual(withFormat, ['LastSuccessfulRunDate'])
  assert.deepEqual(Object.keys(AUTH_VARIABLES), ['ApiKey', 'Username', 'Password', 'AccessToken'])
  assert.deepEqual(Object.keys(PAGING_VARIABLES), ['PAGE_NUMBER', 'PAGE_OFFSET', 'PAGE_SIZE', 'PAGE_NEXT_URL', 'PAGE_TOKEN'])
  assert.ok(isBuiltInVariable('Webhook_Url'))
  assert.ok(!isBuiltInVariable('toString'), 'prototype names are not variables')
})

test('paging and cursor variable names', () => {
  for (const name of ['PAGE_NUMBER', 'PAGE_OFFSET', 'PAGE_SIZE', 'PAGE_NEXT_URL', 'PAGE_TOKEN', 'PAGE_TOKEN_AFTER', 'PAGE_TOKEN_2']) assert.ok(isPagingVariable(name), name)
  for (const name of ['PAGE', 'PAGE_TOKEN_', 'page_number', 'PAGE_TOKENX', 'CYCLR_PAGE', 'CYCLR_ApiKey', 'toString']) assert.ok(!isPagingVariable(name), name)
  assert.ok(isPageTokenVariable('PAGE_TOKEN_FILTER'))
  assert.ok(!isPageTokenVariable('PAGE_NUMBER'))
})

test("Cyclr's CYCLR_PAGE_* spelling is accepted and canonicalised", () => {
  assert.ok(isPagingVariable('CYCLR_PAGE_NUMBER'))
  assert.ok(isPageTokenVariable('CYCLR_PAGE_TOKEN_AFTER'))
  assert.equal(canonicalVariable('CYCLR_PAGE_TOKEN_AFTER'), 'PAGE_TOKEN_AFTER')
  assert.equal(canonicalVariable('CYCLR_Webhook_Url'), 'CYCLR_Webhook_Url', 'only paging variables have the alias')
  assert.equal(canonicalVariable('Subdomain'), 'Subdomain')
})

test('the IGNORE_PARAMETER marker, with or without braces and prefix', () => {
  for (const v of ['{{IGNORE_PARAMETER}}', 'IGNORE_PARAMETER', '{{ CYCLR_IGNORE_PARAMETER }}', 'CYCLR_IGNORE_PARAMETER']) assert.ok(isIgnoreParameterValue(v), v)
  for (const v of ['ignore_parameter', '{{IGNORE_PARAMETER}} x', 'IGNORE']) assert.ok(!isIgnoreParameterValue(v), v)
})

test('scanTemplate finds placeholders with offsets and formats', () => {
  const scan = scanTemplate('https://{{Subdomain}}.x/{{ ContactId }}?since={{LastSuccessfulRunDate format=yyyy-MM-dd HH:mm}}')
  assert.deepEqual(scan.errors, [])
  assert.deepEqual(
    scan.tokens.map((t) => [t.name, t.format, t.offset]),
    [['Subdomain', undefined, 8], ['ContactId', undefined, 24], ['LastSuccessfulRunDate', 'yyyy-MM-dd HH:mm', 46]],
  )
  assert.equal(scan.tokens[1].raw, '{{ ContactId }}')
})

test('scanTemplate reports malformed placeholders', () => {
  assert.match(scanTemplate('/a/{{Id').errors[0].message, /unclosed "\{\{"/)
  assert.match(scanTemplate('/a/{{a-b}}').errors[0].message, /not a valid variable reference/)
  assert.match(scanTemplate('/a/{{}}').errors[0].message, /not a valid variable reference/)
  assert.match(scanTemplate('{{Id limit=3}}').errors[0].message, /the only option is " format=<pattern>"/)
  assert.match(scanTemplate('{{Id format=}}').errors[0].message, /the only option/)
  assert.deepEqual(scanTemplate('no placeholders } here }}').tokens, [])
})

test('templateVariables lists each name once, in order', () => {
  assert.deepEqual(templateVariables('{{B}}/{{A}}/{{B}}'), ['B', 'A'])
})

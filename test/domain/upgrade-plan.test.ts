import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ConnectorDefinition } from '../../src/definition/schema.js'
import { cycleUpgradeDecision, planStepUpgrade, type PlanRelease } from '../../src/domain/upgrade-plan.js'
import type { Step } from '../../src/engine/templates/template-schema.js'

const method = (fields: object[], parameters: object[] = []) => ({ id: 'create-contact', name: 'Create', http: { method: 'POST', path: '/c' }, request: { format: 'json', fields }, parameters })
const release = (releaseId: string, version: string, m: object | null, lookups: object[] = []): PlanRelease => ({ releaseId, version, definition: { methods: m ? [m] : [], lookups } as unknown as ConnectorDefinition })

const v1 = release('rel_1', '1.0', method(
  [{ location: 'email', field: 'Email', type: 'text' }, { location: 'name', field: 'Name', type: 'text', optional: true }, { location: 'owner', field: 'Owner', type: 'text', optional: true }],
  [{ name: 'list', target: 'query' }],
), [{ name: 'owners' }])
const step: Step = {
  key: 'create',
  type: 'action',
  connector: { connectorId: 'con_1', releaseId: 'rel_1', methodId: 'create-contact' },
  fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'static', value: 'x' }, Owner: { type: 'lookup', lookup: 'owners', value: '7' } },
  parameters: { list: { type: 'static', value: 'main' } },
  userConfigurable: ['Name'],
}

test('same release: unchanged', () => {
  const p = planStepUpgrade({ step, from: v1, to: v1 })
  assert.equal(p.outcome, 'unchanged')
  assert.equal(p.step, step)
})

test('everything still there: kept, re-pinned, nothing dropped or needed', () => {
  const p = planStepUpgrade({ step, from: v1, to: { ...v1, releaseId: 'rel_2', version: '2.0' } })
  assert.equal(p.outcome, 'upgradable')
  assert.deepEqual(p.kept, ['fields.Email', 'fields.Name', 'fields.Owner', 'parameters.list'])
  assert.deepEqual(p.dropped, [])
  assert.deepEqual(p.needed, [])
  assert.equal(p.step.connector!.releaseId, 'rel_2')
  assert.deepEqual(p.step.fields, step.fields)
})

test('removed field, parameter and lookup are dropped; a new required field without a mapping is needed', () => {
  const v2 = release('rel_2', '2.0', method([{ location: 'email', field: 'Email', type: 'text' }, { location: 'owner', field: 'Owner', type: 'text', optional: true }, { location: 'phone', field: 'Phone', type: 'text' }]))
  const p = planStepUpgrade({ step, from: v1, to: v2 })
  assert.equal(p.outcome, 'needsInput')
  assert.deepEqual(p.kept, ['fields.Email'])
  assert.deepEqual(p.dropped.map((d) => d.path), ['fields.Name', 'fields.Owner', 'parameters.list', 'userConfigurable.Name'])
  assert.match(p.dropped[1].reason, /no lookup "owners"/)
  assert.deepEqual(p.needed.map((n) => n.path), ['fields.Phone'])
  assert.deepEqual(p.step.fields, { Email: step.fields!.Email })
  assert.deepEqual(p.step.parameters, {})
  assert.deepEqual(p.step.userConfigurable, [])
  assert.deepEqual(step.fields && Object.keys(step.fields), ['Email', 'Name', 'Owner'], 'the input is not mutated')
})

test('user-configurable required inputs: satisfied for a template, needed in a cycle without a value', () => {
  const v2 = release('rel_2', '2.0', method([{ location: 'email', field: 'Email', type: 'text' }, { location: 'name', field: 'Name', type: 'text' }]))
  const s: Step = { ...step, fields: { Email: step.fields!.Email }, parameters: undefined }
  assert.equal(planStepUpgrade({ step: s, from: v1, to: v2 }).outcome, 'upgradable')
  const noValue = planStepUpgrade({ step: s, userValues: { Gone: 'x' }, from: v1, to: v2 })
  assert.equal(noValue.outcome, 'needsInput')
  assert.deepEqual(noValue.needed.map((n) => n.path), ['fields.Name'])
  assert.deepEqual(noValue.dropped.map((n) => n.path), ['userValues.Gone'])
  const withValue = planStepUpgrade({ step: s, userValues: { Name: 'Ann' }, from: v1, to: v2 })
  assert.equal(withValue.outcome, 'upgradable')
  assert.deepEqual(withValue.userValues, { Name: 'Ann' })
})

test('a removed method cannot be upgraded; the cycle decision refuses, and force never moves it', () => {
  const p = planStepUpgrade({ step, from: v1, to: release('rel_2', '2.0', null) })
  assert.equal(p.outcome, 'methodRemoved')
  assert.equal(p.step, step)
  assert.deepEqual(cycleUpgradeDecision([p], true), { runnable: false, apply: false, reason: 'upgrade left step "create" without its method' })
})

test('cycle decision: needs input → refused unless forced; runnable → applied', () => {
  const v2 = release('rel_2', '2.0', method([{ location: 'phone', field: 'Phone', type: 'text' }]))
  const p = planStepUpgrade({ step, from: v1, to: v2 })
  assert.deepEqual(cycleUpgradeDecision([p], false), { runnable: false, apply: false, reason: 'upgrade left step "create" needing fields.Phone' })
  assert.equal(cycleUpgradeDecision([p], true).apply, true)
  const ok = planStepUpgrade({ step, from: v1, to: { ...v1, releaseId: 'rel_2' } })
  assert.deepEqual(cycleUpgradeDecision([ok], false), { runnable: true, apply: true, reason: null })
})

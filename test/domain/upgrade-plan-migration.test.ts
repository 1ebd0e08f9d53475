// planStepUpgrade with a migrate_step result (issue 8 §5): the script's step replaces the old one and
// is then checked against the new release; a failed migration leaves the step where it is.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ConnectorDefinition } from '../../src/definition/schema.js'
import { cycleUpgradeDecision, planStepUpgrade, type PlanRelease } from '../../src/domain/upgrade-plan.js'
import type { Step } from '../../src/engine/templates/template-schema.js'

const method = (id: string, fields: object[]) => ({ id, name: 'Create', http: { method: 'POST', path: '/c' }, request: { format: 'json', fields } })
const release = (releaseId: string, version: string, methods: object[]): PlanRelease => ({ releaseId, version, definition: { methods } as unknown as ConnectorDefinition })
const email = { location: 'email', field: 'Email', type: 'text' }
const v1 = release('rel_1', '1.0', [method('create-contact', [email, { location: 'name', field: 'Name', type: 'text', optional: true }])])
const v2 = release('rel_2', '2.0', [method('add-contact', [email, { location: 'first', field: 'FirstName', type: 'text' }, { location: 'last', field: 'LastName', type: 'text', optional: true }])])
const step: Step = {
  key: 'create',
  type: 'action',
  connector: { connectorId: 'con_1', releaseId: 'rel_1', methodId: 'create-contact' },
  fields: { Email: { type: 'step', step: 'trigger', field: 'Email' }, Name: { type: 'step', step: 'trigger', field: 'Name' } },
}

test('without the script the renamed method is gone; with it the split field is kept and nothing is needed', () => {
  assert.equal(planStepUpgrade({ step, from: v1, to: v2 }).outcome, 'methodRemoved')
  const migration = {
    ok: true as const,
    result: {
      methodId: 'add-contact',
      fields: {
        Email: step.fields!.Email,
        FirstName: { type: 'script' as const, value: "=String(fields.Name || '').split(' ')[0]" },
        LastName: { type: 'script' as const, value: "=String(fields.Name || '').split(' ').slice(1).join(' ')" },
      },
    },
  }
  const p = planStepUpgrade({ step, from: v1, to: v2, migration })
  assert.equal(p.outcome, 'upgradable')
  assert.equal(p.methodId, 'create-contact', 'the report names the old method')
  assert.deepEqual(p.step.connector, { connectorId: 'con_1', releaseId: 'rel_2', methodId: 'add-contact' })
  assert.deepEqual(p.kept, ['fields.Email', 'fields.FirstName', 'fields.LastName'])
  assert.deepEqual(p.needed, [])
  assert.equal(p.migration, migration)
})

test('the script result is still checked: a field the release does not have is dropped, a missing required one needed', () => {
  const p = planStepUpgrade({ step, from: v1, to: v2, migration: { ok: true, result: { methodId: 'add-contact', fields: { Email: step.fields!.Email, Nickname: { type: 'static', value: 'x' } } } } })
  assert.equal(p.outcome, 'needsInput')
  assert.deepEqual(p.dropped.map((d) => d.path), ['fields.Nickname'])
  assert.deepEqual(p.needed.map((d) => d.path), ['fields.FirstName'])
})

test('a failed migration leaves the step as it is and does not block the other steps of a cycle', () => {
  const p = planStepUpgrade({ step, from: v1, to: v2, migration: { ok: false, error: 'boom' }, userValues: {} })
  assert.equal(p.outcome, 'migrationFailed')
  assert.equal(p.step, step)
  assert.deepEqual(p.migration, { ok: false, error: 'boom' })
  // the service leaves migrationFailed plans out of the cycle decision
  assert.deepEqual(cycleUpgradeDecision([], false), { runnable: true, apply: true, reason: null })
})

test('same release: the migration is not applied', () => {
  const p = planStepUpgrade({ step, from: v1, to: v1, migration: { ok: false, error: 'boom' } })
  assert.equal(p.outcome, 'unchanged')
  assert.equal(p.migration, undefined)
})

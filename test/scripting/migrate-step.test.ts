// runMigrateStep (src/scripting/migrate-step.ts): JSON in, JSON out through the sandbox.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createScriptRunner, type ScriptRunner } from '../../src/scripting/index.js'
import { runMigrateStep } from '../../src/scripting/migrate-step.js'

let runner: ScriptRunner
before(async () => {
  runner = await createScriptRunner({ logger: null })
})
after(() => runner.dispose())

const input = {
  step: { methodId: 'create-contact', fields: { Name: { type: 'static', value: 'Ann Lee' } }, parameters: {}, userConfigurable: ['Name'], userValues: { Name: 'x' } },
  context: { stepKey: 'create', kind: 'cycle' as const, from: { releaseId: 'rel_1', version: '1.0', method: { id: 'create-contact' } }, to: { releaseId: 'rel_2', version: '2.0', method: null } },
}
const run = (source: string) => runMigrateStep(runner, source, input, { isolationKey: 'p/migrate/test' })

test('the script gets a mutable copy of the step and the context, and its result comes back as data', async () => {
  const r = await run(`function migrate_step(step, context) {
    step.fields.FullName = step.fields.Name; delete step.fields.Name
    step.methodId = context.to.method === null ? 'add-contact' : step.methodId
    step.note = context.from.version + '>' + context.to.version + ' ' + context.kind + ' ' + context.stepKey
    return step
  }`)
  assert.deepEqual(r, { ok: true, value: { methodId: 'add-contact', fields: { FullName: { type: 'static', value: 'Ann Lee' } }, parameters: {}, userConfigurable: ['Name'], userValues: { Name: 'x' }, note: '1.0>2.0 cycle create' } })
})

test('nothing returned is null; errors are reported with the line of the script', async () => {
  assert.deepEqual(await run('function migrate_step() {}'), { ok: true, value: null })
  const thrown = await run('function migrate_step(step) {\n  throw new Error("no " + step.methodId)\n}')
  assert.deepEqual(thrown, { ok: false, error: 'migrate_step failed: no create-contact (line 2)' })
  const missing = await run('function other() {}')
  assert.equal(missing.ok, false)
  assert.match((missing as { error: string }).error, /does not define function migrate_step/)
  assert.doesNotMatch((missing as { error: string }).error, /line/)
  const syntax = await run('function migrate_step( {')
  assert.equal(syntax.ok, false)
})

test('a `[Name]` in the script is left alone (the input is not a merge field)', async () => {
  const r = await run('function migrate_step(step) { var a = [step.methodId]; return { methodId: a[0] + "-v2" } }')
  assert.deepEqual(r, { ok: true, value: { methodId: 'create-contact-v2' } })
})

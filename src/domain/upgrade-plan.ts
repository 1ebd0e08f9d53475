// Upgrade planning (SPEC §7): what happens to one step when it moves from its pinned release to
// another. Pure: the step and both definitions in, the upgraded step and a report out. Mappings and
// parameter values are kept where the method and the field/parameter still exist; the rest is
// dropped (and reported); required inputs of the new release without a value are reported as needed.
import type { ConnectorDefinition, Method } from '../definition/schema.js'
import type { Mapping, Step } from '../engine/templates/template-schema.js'
import { isRequiredParameter, requestFields, stepParameters } from './template-rules.js'

export type PlanValue = string | number | boolean | null

export interface PlanRelease {
  releaseId: string
  version: string | null
  definition: ConnectorDefinition
}

export interface StepPlanInput {
  step: Step
  /** cycle steps only: values of user-configurable fields and parameters */
  userValues?: Record<string, PlanValue>
  from: PlanRelease
  to: PlanRelease
  /** what the target release's `migrate_step` script made of the step (or its error), when it has one */
  migration?: StepMigration
}

/** The step as a `migrate_step` script returns it (validated by the caller). */
export interface MigratedStep {
  methodId: string
  fields?: Record<string, Mapping>
  parameters?: Record<string, Mapping>
  userConfigurable?: string[]
  userValues?: Record<string, PlanValue>
}

/** A `migrate_step` run: its result, or why it failed (that step is then not upgraded). */
export type StepMigration = { ok: true; result: MigratedStep } | { ok: false; error: string }

export interface PlanItem {
  /** `fields.Email`, `parameters.page`, `userConfigurable.Name`, `userValues.Name`, `method` */
  path: string
  reason: string
}

export type StepOutcome = 'unchanged' | 'upgradable' | 'needsInput' | 'methodRemoved' | 'migrationFailed'

export interface StepUpgradePlan {
  stepKey: string
  methodId: string
  from: { releaseId: string; version: string | null }
  to: { releaseId: string; version: string | null }
  /**
   * unchanged: already there; upgradable: nothing missing; needsInput: runnable only once `needed`
   * has values; methodRemoved: cannot move; migrationFailed: the release's migrate_step script
   * failed for this step, which stays where it is
   */
  outcome: StepOutcome
  kept: string[]
  dropped: PlanItem[]
  needed: PlanItem[]
  /** the step after the upgrade (the original when the method was removed) */
  step: Step
  userValues?: Record<string, PlanValue>
  /** set when the target release has a migrate_step script: what it returned, or its error */
  migration?: StepMigration
}

const isBlank = (v: unknown) => v === undefined || v === null || v === ''

const findMethod = (definition: ConnectorDefinition, id: string): Method | undefined => definition.methods?.find((m) => m.id === id)

/** A lookup mapping needs the lookup to exist in the new release too. */
function mappingStillValid(mapping: Mapping, to: ConnectorDefinition): string | undefined {
  if (mapping.type === 'lookup' && !to.lookups?.some((l) => l.name === mapping.lookup)) return `the connector has no lookup "${mapping.lookup}" any more`
  return undefined
}

export function planStepUpgrade(input: StepPlanInput): StepUpgradePlan {
  const { from, to, migration } = input
  const original = input.step
  if (!original.connector) throw new Error(`step "${original.key}" has no connector to upgrade`)
  const withMigration = migration && from.releaseId !== to.releaseId ? { migration } : {}
  if (migration && !migration.ok && from.releaseId !== to.releaseId) {
    return {
      stepKey: original.key,
      methodId: original.connector.methodId,
      from: { releaseId: from.releaseId, version: from.version },
      to: { releaseId: to.releaseId, version: to.version },
      outcome: 'migrationFailed',
      kept: [],
      dropped: [],
      needed: [],
      step: original,
      ...(input.userValues ? { userValues: input.userValues } : {}),
      migration,
    }
  }
  // The migration script's result replaces the step's method, mappings and parameters; the rest of
  // the plan checks that result against the new release like any other step.
  let step = original
  let userValuesIn = input.userValues
  if (migration?.ok && from.releaseId !== to.releaseId) {
    const m = migration.result
    step = { ...original, connector: { ...original.connector, methodId: m.methodId } }
    for (const k of ['fields', 'parameters', 'userConfigurable'] as const) {
      if (m[k] !== undefined) (step as Record<string, unknown>)[k] = m[k]
    }
    if (m.userValues !== undefined && userValuesIn !== undefined) userValuesIn = m.userValues
  }
  const connector = step.connector
  if (!connector) throw new Error(`step "${step.key}" has no connector to upgrade`)
  const base = {
    stepKey: step.key,
    methodId: original.connector.methodId,
    from: { releaseId: from.releaseId, version: from.version },
    to: { releaseId: to.releaseId, version: to.version },
  }
  if (from.releaseId === to.releaseId) {
    return { ...base, outcome: 'unchanged', kept: [], dropped: [], needed: [], step, ...(input.userValues ? { userValues: input.userValues } : {}) }
  }
  const method = findMethod(to.definition, connector.methodId)
  if (!method) {
    return {
      ...base,
      outcome: 'methodRemoved',
      kept: [],
      dropped: [{ path: 'method', reason: `release ${to.version ?? to.releaseId} has no method "${connector.methodId}"` }],
      needed: [],
      step: original,
      ...(input.userValues ? { userValues: input.userValues } : {}),
      ...withMigration,
    }
  }
  const kept: string[] = []
  const dropped: PlanItem[] = []
  const needed: PlanItem[] = []
  const label = to.version ?? to.releaseId

  const fieldNames = new Set(requestFields(method).map((f) => f.field))
  const params = stepParameters(to.definition, method)
  const paramNames = new Set(params.map((p) => p.name))

  const keep = (kind: 'fields' | 'parameters', names: Set<string>, noun: string) => {
    const out: Record<string, Mapping> = {}
    for (const [name, mapping] of Object.entries(step[kind] ?? {})) {
      const path = `${kind}.${name}`
      if (!names.has(name)) {
        dropped.push({ path, reason: `method "${method.id}" of ${label} has no ${noun} "${name}"` })
        continue
      }
      const invalid = mappingStillValid(mapping, to.definition)
      if (invalid) {
        dropped.push({ path, reason: invalid })
        continue
      }
      kept.push(path)
      out[name] = mapping
    }
    return out
  }
  const fields = keep('fields', fieldNames, 'request field')
  const parameters = keep('parameters', paramNames, 'parameter')

  const userConfigurable: string[] = []
  for (const name of step.userConfigurable ?? []) {
    if (fieldNames.has(name) || paramNames.has(name)) userConfigurable.push(name)
    else dropped.push({ path: `userConfigurable.${name}`, reason: `"${name}" is neither a request field nor a parameter of "${method.id}" in ${label}` })
  }
  const configurable = new Set(userConfigurable)

  let userValues: Record<string, PlanValue> | undefined
  if (userValuesIn) {
    userValues = {}
    for (const [name, value] of Object.entries(userValuesIn)) {
      if (configurable.has(name)) {
        userValues[name] = value
        kept.push(`userValues.${name}`)
      } else dropped.push({ path: `userValues.${name}`, reason: `"${name}" is no longer a user-configurable field or parameter of "${method.id}"` })
    }
  }

  // A cycle step needs a value for each user-configurable required input; a template leaves it to installs.
  const missing = (name: string) => !configurable.has(name) || (userValues !== undefined && isBlank(userValues[name]))
  for (const f of requestFields(method)) {
    if (f.optional || f.default !== undefined || f.readOnly || fields[f.field]) continue
    if (missing(f.field)) needed.push({ path: `fields.${f.field}`, reason: `required field "${f.field}" of ${label} has no ${configurable.has(f.field) ? 'value' : 'mapping'}` })
  }
  for (const p of params) {
    if (!isRequiredParameter(p) || parameters[p.name]) continue
    if (missing(p.name)) needed.push({ path: `parameters.${p.name}`, reason: `required parameter "${p.name}" of ${label} has no value` })
  }

  const upgraded: Step = { ...step, connector: { ...connector, releaseId: to.releaseId } }
  if (step.fields) upgraded.fields = fields
  if (step.parameters) upgraded.parameters = parameters
  if (step.userConfigurable) upgraded.userConfigurable = userConfigurable
  return { ...base, outcome: needed.length ? 'needsInput' : 'upgradable', kept, dropped, needed, step: upgraded, ...(userValues ? { userValues } : {}), ...withMigration }
}

/** A cycle can move only if every step can run afterwards; `force` moves it anyway (then it is paused). */
export function cycleUpgradeDecision(plans: readonly StepUpgradePlan[], force: boolean): { runnable: boolean; apply: boolean; reason: string | null } {
  const blocking = plans.filter((p) => p.outcome === 'needsInput' || p.outcome === 'methodRemoved')
  const removed = plans.filter((p) => p.outcome === 'methodRemoved')
  const reason = blocking.length
    ? `upgrade left ${blocking.map((p) => `step "${p.stepKey}" ${p.outcome === 'methodRemoved' ? 'without its method' : `needing ${p.needed.map((n) => n.path).join(', ')}`}`).join('; ')}`
    : null
  // a step whose method is gone cannot be moved at all, forced or not
  return { runnable: blocking.length === 0, apply: removed.length === 0 && (blocking.length === 0 || force), reason }
}

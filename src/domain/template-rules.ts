// Template validation (SPEC §5): pure, reports every problem at once. The caller resolves each
// connector step's pinned release and passes the definitions in.
import type { ConnectorDefinition, Method, Parameter } from '../definition/schema.js'
import { at, type Problem } from '../definition/problems.js'
import { isBuiltInVariable } from '../definition/variables.js'
import type { Mapping, Step, TemplateInput } from '../engine/templates/template-schema.js'

export interface PinnedRelease {
  releaseId: string
  connectorId: string
  definition: ConnectorDefinition
}

/** Resolved pins by step index; undefined where the step has no connector or the pin is unknown. */
export type Pins = ReadonlyArray<PinnedRelease | undefined>

const MERGE_FIELD = /\{\{\s*([A-Za-z_][\w-]*)(?:\.([A-Za-z_]\w*))?(?:\s+format=[^}]*)?\s*\}\}/g

/** Parameters a step can set: the method's and the connector's, other than those fixed, installed or paging. */
export function stepParameters(definition: ConnectorDefinition, method: Method): Parameter[] {
  const all = [...(definition.parameters ?? []), ...(method.parameters ?? [])]
  return all.filter((p) => (p.scope === undefined || p.scope === 'step') && p.target !== 'responseField' && !/\{\{\s*(CYCLR_)?PAGE_/.test(p.value ?? ''))
}

export const isRequiredParameter = (p: Parameter) => !p.optional && p.value === undefined && p.default === undefined
export const requestFields = (m: Method) => m.request?.fields ?? []
export const responseFields = (m: Method) => m.response?.fields ?? []

const hasHandler = (source: string | undefined, event: string) => !!source && new RegExp(`function\\s+${event}\\s*\\(`).test(source)

export function findMethod(pin: PinnedRelease | undefined, methodId: string): Method | undefined {
  return pin?.definition.methods?.find((m) => m.id === methodId)
}

export function checkTemplate(input: TemplateInput, pins: Pins): Problem[] {
  const problems: Problem[] = []
  const add = (path: string, message: string) => problems.push({ path, message })
  const steps = input.steps
  if (steps.length === 0) add('/steps', 'a template needs at least a trigger step')
  else if (steps[0].type !== 'trigger') add('/steps/0/type', `the first step must be the trigger; got ${steps[0].type}`)

  const indexOfKey = new Map<string, number>()
  steps.forEach((s, i) => {
    if (indexOfKey.has(s.key)) add(at('/steps', i, 'key'), `duplicate step key "${s.key}" (also step ${indexOfKey.get(s.key)})`)
    else indexOfKey.set(s.key, i)
  })

  // A step's response fields, for later steps' mappings.
  const outputs = (i: number): Set<string> | undefined => {
    const s = steps[i]
    if (!s.connector) return undefined
    const m = findMethod(pins[i], s.connector.methodId)
    return m && new Set(responseFields(m).map((f) => f.field))
  }

  const checkMapping = (mapping: Mapping, path: string, stepIndex: number, pin: PinnedRelease | undefined) => {
    switch (mapping.type) {
      case 'step': {
        const from = indexOfKey.get(mapping.step)
        if (from === undefined) return add(path, `step "${mapping.step}" does not exist`)
        if (from >= stepIndex) return add(path, `step "${mapping.step}" does not run before this step; map from earlier steps only`)
        const fields = outputs(from)
        if (!fields) return add(path, `step "${mapping.step}" has no response fields`)
        if (!fields.has(mapping.field)) add(path, `step "${mapping.step}" has no response field "${mapping.field}"`)
        return
      }
      case 'template':
        for (const m of mapping.value.matchAll(MERGE_FIELD)) {
          const [, name, field] = m
          if (!field) {
            if (!isBuiltInVariable(name)) add(path, `unknown merge field {{${name}}}; use {{stepKey.Field}} or a built-in such as {{LastSuccessfulRunDate}}`)
            continue
          }
          checkMapping({ type: 'step', step: name, field }, path, stepIndex, pin)
        }
        return
      case 'lookup':
        if (!pin?.definition.lookups?.some((l) => l.name === mapping.lookup)) add(path, `the connector has no lookup "${mapping.lookup}"`)
        return
      default:
        return
    }
  }

  steps.forEach((step, i) => {
    const base = at('/steps', i)
    if (i > 0 && step.type === 'trigger') add(at(base, 'type'), 'only the first step can be a trigger')
    const needsConnector = step.type === 'trigger' || step.type === 'action'
    if (needsConnector && !step.connector) add(at(base, 'connector'), `a ${step.type} step needs a connector method`)
    if (!needsConnector && step.connector) add(at(base, 'connector'), `a ${step.type} step has no connector method`)
    if (step.type === 'decision' && !step.decision) add(at(base, 'decision'), 'a decision step needs {left, operator, right}')
    if (step.type !== 'decision' && step.decision) add(at(base, 'decision'), 'only decision steps have a decision')
    if (step.type === 'delay' && !step.delay) add(at(base, 'delay'), 'a delay step needs {amount, unit}')
    if (step.type !== 'delay' && step.delay) add(at(base, 'delay'), 'only delay steps have a delay')
    if (step.onError?.retries !== undefined && step.onError.action !== 'retry') add(at(base, 'onError', 'retries'), 'retries apply to the retry action only')

    const pin = pins[i]
    let method: Method | undefined
    if (step.connector) {
      if (!pin) add(at(base, 'connector', 'releaseId'), `connector ${step.connector.connectorId} has no release ${step.connector.releaseId ?? '(live)'} this partner can use`)
      else {
        method = findMethod(pin, step.connector.methodId)
        if (!method) add(at(base, 'connector', 'methodId'), `release ${pin.releaseId} has no method "${step.connector.methodId}"`)
      }
    }
    if (method) {
      const type = method.type ?? 'action'
      if (step.type === 'trigger' && type === 'script') add(at(base, 'connector', 'methodId'), `method "${method.id}" is a script method and cannot trigger a cycle`)
      if (step.type === 'action' && type === 'webhook') add(at(base, 'connector', 'methodId'), `method "${method.id}" is a webhook method: it can only be a trigger`)

      const fieldNames = new Set(requestFields(method).map((f) => f.field))
      const params = stepParameters(pin!.definition, method)
      const paramNames = new Set(params.map((p) => p.name))
      const configurable = new Set(step.userConfigurable ?? [])
      for (const [name, mapping] of Object.entries(step.fields ?? {})) {
        const path = at(base, 'fields', name)
        if (!fieldNames.has(name)) add(path, `method "${method.id}" has no request field "${name}"`)
        else checkMapping(mapping, path, i, pin)
      }
      for (const [name, mapping] of Object.entries(step.parameters ?? {})) {
        const path = at(base, 'parameters', name)
        if (!paramNames.has(name)) add(path, `method "${method.id}" has no parameter "${name}" that a step can set`)
        else checkMapping(mapping, path, i, pin)
      }
      for (const [k, name] of (step.userConfigurable ?? []).entries()) {
        if (!fieldNames.has(name) && !paramNames.has(name)) add(at(base, 'userConfigurable', k), `"${name}" is neither a request field nor a parameter of "${method.id}"`)
      }
      for (const f of requestFields(method)) {
        if (!f.optional && f.default === undefined && !f.readOnly && !step.fields?.[f.field] && !configurable.has(f.field)) {
          add(at(base, 'fields', f.field), `required field "${f.field}" is not mapped (map it or mark it user-configurable)`)
        }
      }
      for (const p of params) {
        if (isRequiredParameter(p) && !step.parameters?.[p.name] && !configurable.has(p.name)) {
          add(at(base, 'parameters', p.name), `required parameter "${p.name}" has no value (set it or mark it user-configurable)`)
        }
      }
      if (step.routes && !(hasHandler(step.script, 'action_condition') || hasHandler(method.script, 'action_condition') || hasHandler(pin!.definition.script, 'action_condition'))) {
        add(at(base, 'routes'), `method "${method.id}" has no action_condition script, so it has no true/false routes`)
      }
    } else if (step.type !== 'decision' && step.routes) {
      add(at(base, 'routes'), 'only decisions and methods with an action_condition script have routes')
    }

    if (step.decision) {
      checkMapping(step.decision.left, at(base, 'decision', 'left'), i, undefined)
      const unary = step.decision.operator === 'isEmpty' || step.decision.operator === 'isNotEmpty'
      if (!unary && !step.decision.right) add(at(base, 'decision', 'right'), `operator ${step.decision.operator} needs a right operand`)
      if (step.decision.right) checkMapping(step.decision.right, at(base, 'decision', 'right'), i, undefined)
    }
    for (const outcome of ['onTrue', 'onFalse'] as const) {
      const target = step.routes?.[outcome]
      if (!target || target === 'end') continue
      const to = indexOfKey.get(target)
      if (to === undefined) add(at(base, 'routes', outcome), `step "${target}" does not exist`)
      else if (to <= i) add(at(base, 'routes', outcome), `routes go forward only; step "${target}" is not after this step`)
    }
  })
  return problems
}

/** The steps a transaction runs after `index` for an outcome: the route target, else the next step. */
export function nextStepIndex(steps: readonly Step[], index: number, outcome: boolean | undefined): number | 'end' {
  const step = steps[index]
  const route = outcome === undefined ? undefined : outcome ? step.routes?.onTrue : (step.routes?.onFalse ?? 'end')
  if (route === 'end') return 'end'
  if (route) return steps.findIndex((s) => s.key === route)
  return index + 1 < steps.length ? index + 1 : 'end'
}

// What keeps a cycle from being activated (SPEC §5), with reason codes after Cyclr's
// (ReasonCode / Reason / ObjectType / ObjectId). Pure: the caller loads the facts.
import type { ConnectorDefinition } from '../definition/schema.js'
import type { CycleStep } from '../store/repositories/cycles.js'
import { findMethod, isRequiredParameter, requestFields, stepParameters } from './template-rules.js'

export interface Prerequisite {
  reasonCode: number
  reason: 'NO_TRIGGER' | 'CONNECTOR_NOT_INSTALLED' | 'CONNECTOR_UNAUTHENTICATED' | 'MISSING_FIELD_VALUE' | 'MISSING_PARAMETER_VALUE' | 'RELEASE_UNAVAILABLE'
  message: string
  stepKey?: string
  objectType: 'cycle' | 'step' | 'accountConnector' | 'connector' | 'field' | 'parameter'
  objectId: string
}

export interface StepFacts {
  step: CycleStep
  definition?: ConnectorDefinition
  accountConnector?: { id: string; authenticated: boolean }
}

const isBlank = (v: unknown) => v === undefined || v === null || v === ''

export function cyclePrerequisites(cycleId: string, facts: readonly StepFacts[]): Prerequisite[] {
  const out: Prerequisite[] = []
  if (!facts.length || facts[0].step.type !== 'trigger') {
    out.push({ reasonCode: 10, reason: 'NO_TRIGGER', message: 'the cycle has no trigger step', objectType: 'cycle', objectId: cycleId })
  }
  for (const { step, definition, accountConnector } of facts) {
    if (!step.connector) continue
    const stepKey = step.key
    if (!definition) {
      out.push({ reasonCode: 0, reason: 'RELEASE_UNAVAILABLE', message: `release ${step.connector.releaseId} of the step is not available`, stepKey, objectType: 'step', objectId: step.id })
      continue
    }
    if (!accountConnector) {
      out.push({ reasonCode: 21, reason: 'CONNECTOR_NOT_INSTALLED', message: `connector ${step.connector.connectorId} is not installed in the account`, stepKey, objectType: 'connector', objectId: step.connector.connectorId })
    } else if (!accountConnector.authenticated) {
      out.push({ reasonCode: 20, reason: 'CONNECTOR_UNAUTHENTICATED', message: `account connector ${accountConnector.id} is not authenticated`, stepKey, objectType: 'accountConnector', objectId: accountConnector.id })
    }
    const method = findMethod({ releaseId: step.connector.releaseId ?? '', connectorId: step.connector.connectorId, definition }, step.connector.methodId)
    if (!method) continue
    const configurable = new Set(step.userConfigurable ?? [])
    for (const f of requestFields(method)) {
      const mapped = step.fields?.[f.field]
      const needs = configurable.has(f.field) ? !f.optional && f.default === undefined && !f.readOnly : false
      if (needs && !mapped && isBlank(step.userValues[f.field])) {
        out.push({ reasonCode: 41, reason: 'MISSING_FIELD_VALUE', message: `user-configurable field "${f.field}" of step "${stepKey}" has no value`, stepKey, objectType: 'field', objectId: f.field })
      }
    }
    for (const p of stepParameters(definition, method)) {
      if (configurable.has(p.name) && isRequiredParameter(p) && !step.parameters?.[p.name] && isBlank(step.userValues[p.name])) {
        out.push({ reasonCode: 40, reason: 'MISSING_PARAMETER_VALUE', message: `user-configurable parameter "${p.name}" of step "${stepKey}" has no value`, stepKey, objectType: 'parameter', objectId: p.name })
      }
    }
  }
  return out
}

/** Activation intervals in minutes (SPEC §5). */
export const ACTIVATION_INTERVALS = [1, 5, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 10080] as const

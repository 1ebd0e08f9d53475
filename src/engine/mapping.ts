// Field and parameter values of a step, from its mappings (SPEC §5): a static value, `{{merge
// field}}` text, a previous step's field, an inline `=` script, or a lookup value.
import type { Mapping } from './templates/template-schema.js'

export interface MappingContext {
  /** outputs of the steps run so far, by step key (the trigger's is its record) */
  outputs: Record<string, Record<string, unknown> | undefined>
  builtIns: Record<string, string>
  /** inline scripts run in the sandbox; the data is passed as data, never spliced into source */
  evaluate(expression: string, data: Record<string, unknown>): Promise<unknown>
}

const MERGE_FIELD = /\{\{\s*([A-Za-z_][\w-]*)(?:\.([A-Za-z_]\w*))?(?:\s+format=([^}]*))?\s*\}\}/g

const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))

export function renderTemplate(value: string, ctx: Pick<MappingContext, 'outputs' | 'builtIns'>): string {
  return value.replace(MERGE_FIELD, (_m, name: string, field: string | undefined) => {
    if (field) return text(ctx.outputs[name]?.[field])
    return ctx.builtIns[name] ?? ''
  })
}

export async function resolveMapping(mapping: Mapping, ctx: MappingContext, fields: Record<string, unknown>): Promise<unknown> {
  switch (mapping.type) {
    case 'static':
      return mapping.value
    case 'template':
      return renderTemplate(mapping.value, ctx)
    case 'step':
      return ctx.outputs[mapping.step]?.[mapping.field]
    case 'lookup':
      return mapping.value
    case 'script':
      return ctx.evaluate(mapping.value, { ...flattenOutputs(ctx.outputs), ...fields, steps: ctx.outputs, ...ctx.builtIns })
  }
}

/** `StepKey_Field`-free view: every earlier step's fields, later steps winning (Cyclr merge-field style). */
function flattenOutputs(outputs: MappingContext['outputs']): Record<string, unknown> {
  const flat: Record<string, unknown> = {}
  for (const o of Object.values(outputs)) if (o) Object.assign(flat, o)
  return flat
}

export async function resolveAll(mappings: Record<string, Mapping> | undefined, userValues: Record<string, unknown>, names: readonly string[], ctx: MappingContext): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const [name, mapping] of Object.entries(mappings ?? {})) out[name] = await resolveMapping(mapping, ctx, out)
  for (const name of names) if (out[name] === undefined && userValues[name] !== undefined && userValues[name] !== null) out[name] = userValues[name]
  return out
}

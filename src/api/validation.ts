// Two validators: request bodies are checked strictly (no type coercion, unknown properties are
// errors, never silently removed); path and query strings are coerced from text.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

const base = { allErrors: true, strict: false, removeAdditional: false, useDefaults: true, verbose: true } as const
const bodyAjv = addFormats(new Ajv({ ...base, coerceTypes: false }))
const textAjv = addFormats(new Ajv({ ...base, coerceTypes: 'array' }))

export function validatorCompiler({ schema, httpPart }: { schema: object; httpPart?: string }): ValidateFunction {
  return (httpPart === 'body' ? bodyAjv : textAjv).compile(schema)
}

/** `{path, message}` per problem, with unknown properties and allowed values spelled out. */
export function describeValidationErrors(errors: readonly (ErrorObject | FastifySchemaValidationError)[], part: string): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = []
  for (const e of errors as ErrorObject[]) {
    const at = `${part}${(e.instancePath ?? '').replace(/\//g, '.')}`
    switch (e.keyword) {
      case 'additionalProperties':
        out.push({ path: `${at}.${e.params.additionalProperty}`, message: `unknown property "${e.params.additionalProperty}"` })
        break
      case 'required':
        out.push({ path: `${at}.${e.params.missingProperty}`, message: 'is required' })
        break
      case 'enum':
        out.push({ path: at, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` })
        break
      case 'const':
        // Literal unions report one const error per member; the anyOf error below summarises them.
        break
      case 'anyOf': {
        const allowed = (e.schema as { const?: unknown }[] | undefined)?.map((s) => s.const).filter((v) => v !== undefined)
        out.push({ path: at, message: allowed?.length ? `must be one of ${allowed.join(', ')}` : 'does not match any allowed shape' })
        break
      }
      default:
        out.push({ path: at, message: e.message ?? 'is invalid' })
    }
  }
  // de-duplicate
  return out.filter((p, i) => out.findIndex((q) => q.path === p.path && q.message === p.message) === i)
}

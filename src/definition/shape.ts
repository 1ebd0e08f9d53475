// Shape checking that reports EVERY problem, readably. TypeBox's compiled validator decides
// whether a value is valid (fast path, and the final word); when it is not, this walker descends
// the schema itself, component by component, so one bad authentication does not hide a bad
// method, literal unions read "must be one of a, b, c", and a tagged union (authentications)
// is checked against the branch its `type` names instead of against every branch.
import type { TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { at, dedupeProblems, describeValue, type Problem } from './problems.js'
import * as S from './schema.js'
import { suggest } from './suggest.js'

/** The components that can be checked on their own, by name. */
export const SHAPES = {
  definition: S.ConnectorDefinition,
  settings: S.ReleaseSettings,
  method: S.Method,
  parameter: S.Parameter,
  field: S.Field,
  authentication: S.Authentication,
  lookup: S.Lookup,
  paging: S.Paging,
  rateLimits: S.RateLimits,
  webhookRouting: S.WebhookRouting,
} as const satisfies Record<string, TSchema>

export type ShapeName = keyof typeof SHAPES

/** Every shape problem of `value` against the named component, with paths under `basePath`. */
export function checkShape(name: ShapeName, value: unknown, basePath = ''): Problem[] {
  const out: Problem[] = []
  walk(SHAPES[name] as unknown as JsonSchema, value, basePath, out)
  return dedupeProblems(out)
}

/** The JSON Schema keywords TypeBox emits for the definition language. */
interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null'
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean
  patternProperties?: Record<string, JsonSchema>
  items?: JsonSchema
  anyOf?: JsonSchema[]
  const?: unknown
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minItems?: number
  maxItems?: number
}

const validators = new WeakMap<object, Validator>()
function validator(schema: JsonSchema): Validator {
  let v = validators.get(schema)
  if (!v) validators.set(schema, (v = Compile(schema as TSchema) as unknown as Validator))
  return v
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function walk(schema: JsonSchema, value: unknown, path: string, out: Problem[]): void {
  if (validator(schema).Check(value)) return
  const before = out.length
  if (schema.anyOf) walkUnion(schema.anyOf, value, path, out)
  else if (schema.type === 'object') walkObject(schema, value, path, out)
  else if (schema.type === 'array') walkArray(schema, value, path, out)
  else checkScalar(schema, value, path, out)
  // Safety net: a keyword this walker does not know still fails the check, in TypeBox's words.
  if (out.length === before) {
    for (const e of validator(schema).Errors(value)) out.push({ path: path + e.instancePath, message: e.message })
  }
}

function walkUnion(branches: JsonSchema[], value: unknown, path: string, out: Problem[]): void {
  if (branches.every((b) => 'const' in b)) {
    out.push({ path, message: `must be one of ${branches.map((b) => String(b.const)).join(', ')} (got ${describeValue(value)})` })
    return
  }
  const tags = branches.map((b) => b.properties?.type?.const)
  if (tags.every((t) => typeof t === 'string')) {
    // A tagged union: `type` picks the branch, whose own problems are then reported in full.
    if (!isRecord(value)) return void out.push({ path, message: `must be an object (got ${describeValue(value)})` })
    const branch = branches.find((b) => b.properties?.type?.const === value.type)
    if (branch) return walk(branch, value, path, out)
    out.push({
      path: at(path, 'type'),
      message: value.type === undefined ? `required property "type" is missing (one of ${tags.join(', ')})` : `must be one of ${tags.join(', ')} (got ${describeValue(value.type)})`,
    })
    return
  }
  // Any other union: descend into the one branch of the value's JSON type, if there is one.
  const sameType = branches.filter((b) => b.type !== undefined && typeMatches(b.type, value))
  if (sameType.length === 1) return walk(sameType[0], value, path, out)
  out.push({ path, message: `must be ${joinOr(branches.map(describeSchema))} (got ${describeValue(value)})` })
}

function walkObject(schema: JsonSchema, value: unknown, path: string, out: Problem[]): void {
  if (!isRecord(value)) return void out.push({ path, message: `must be an object (got ${describeValue(value)})` })
  const properties = schema.properties ?? {}
  const patterns = Object.entries(schema.patternProperties ?? {}).map(([p, s]) => [new RegExp(p), s] as const)
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(value, key)) out.push({ path: at(path, key), message: `required property "${key}" is missing` })
  }
  for (const [key, item] of Object.entries(value)) {
    if (Object.hasOwn(properties, key)) walk(properties[key], item, at(path, key), out)
    else {
      const matching = patterns.filter(([re]) => re.test(key))
      if (matching.length) for (const [, s] of matching) walk(s, item, at(path, key), out)
      else if (schema.additionalProperties === false) out.push({ path, message: `unknown property "${key}"${suggest(key, Object.keys(properties))}` })
    }
  }
}

function walkArray(schema: JsonSchema, value: unknown, path: string, out: Problem[]): void {
  if (!Array.isArray(value)) return void out.push({ path, message: `must be an array (got ${describeValue(value)})` })
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    out.push({ path, message: `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}` })
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) out.push({ path, message: `must have at most ${schema.maxItems} items (got ${value.length})` })
  if (schema.items) value.forEach((item, i) => walk(schema.items!, item, at(path, i), out))
}

function checkScalar(schema: JsonSchema, value: unknown, path: string, out: Problem[]): void {
  const got = describeValue(value)
  if (schema.type && !typeMatches(schema.type, value)) return void out.push({ path, message: `must be ${describeSchema(schema)} (got ${got})` })
  if ('const' in schema && value !== schema.const) return void out.push({ path, message: `must be ${JSON.stringify(schema.const)} (got ${got})` })
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      out.push({ path, message: schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long` })
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) out.push({ path, message: `must be at most ${schema.maxLength} characters long (got ${value.length})` })
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) out.push({ path, message: `must match the pattern ${schema.pattern} (got ${got})` })
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push({ path, message: `must be at least ${schema.minimum} (got ${got})` })
    if (schema.maximum !== undefined && value > schema.maximum) out.push({ path, message: `must be at most ${schema.maximum} (got ${got})` })
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) out.push({ path, message: `must be greater than ${schema.exclusiveMinimum} (got ${got})` })
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) out.push({ path, message: `must be less than ${schema.exclusiveMaximum} (got ${got})` })
  }
}

function typeMatches(type: NonNullable<JsonSchema['type']>, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isRecord(value)
    case 'array':
      return Array.isArray(value)
    case 'integer':
      return Number.isInteger(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'null':
      return value === null
    default:
      return typeof value === type
  }
}

function describeSchema(schema: JsonSchema): string {
  if ('const' in schema) return JSON.stringify(schema.const)
  if (schema.anyOf) return joinOr(schema.anyOf.map(describeSchema))
  const article = schema.type === 'integer' || schema.type === 'object' || schema.type === 'array' ? 'an' : 'a'
  return schema.type ? `${article} ${schema.type}` : 'a valid value'
}

const joinOr = (items: string[]): string => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`)

// JSON Schema (as used by OpenAPI) → flat definition fields: types mapped, object properties
// flattened to dotted locations, and the record array of list responses guessed.
import type { Field, FieldType } from '../schema.js'
import { child, isObj, nonEmpty, type ImportContext, type Obj } from './context.js'
import { humanize, pascalName, truncate, oneLine, systemNameSet } from './names.js'
import { EXTERNAL_REF, UNRESOLVED_REF } from './parse.js'

export type Shape =
  | { kind: 'object'; properties: Array<[string, unknown]>; required: Set<string>; schema: Obj; freeForm: boolean }
  | { kind: 'array'; items: unknown; schema: Obj }
  | { kind: 'scalar'; type: FieldType; format?: string; schema: Obj }
  | { kind: 'unmappable'; reason: string }

const MAX_COMBINATION_DEPTH = 8

const isNullSchema = (s: unknown): boolean =>
  isObj(s) && (s.type === 'null' || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null))

function scalarOf(type: string, schema: Obj): Shape | undefined {
  const format = typeof schema.format === 'string' ? schema.format.toLowerCase() : undefined
  switch (type) {
    case 'string':
      if (format === 'date-time') return { kind: 'scalar', type: 'datetime', format: 'iso8601', schema }
      if (format === 'date') return { kind: 'scalar', type: 'datetime', format: 'yyyy-MM-dd', schema }
      if (format === 'binary') return { kind: 'scalar', type: 'file', schema }
      if (typeof schema.contentMediaType === 'string' && schema.contentEncoding === undefined && !/json|text|xml/.test(schema.contentMediaType))
        return { kind: 'scalar', type: 'file', schema }
      return { kind: 'scalar', type: 'text', schema }
    case 'integer':
      return { kind: 'scalar', type: 'integer', schema }
    case 'number':
      return { kind: 'scalar', type: format === 'decimal' ? 'decimal' : 'float', schema }
    case 'boolean':
      return { kind: 'scalar', type: 'boolean', schema }
    case 'file': // Swagger 2.0 formData
      return { kind: 'scalar', type: 'file', schema }
    case 'null':
      return { kind: 'scalar', type: 'text', schema }
    default:
      return undefined
  }
}

function mergeObjects(shapes: Array<Extract<Shape, { kind: 'object' }>>, schema: Obj, keepRequired: boolean): Shape {
  const props = new Map<string, unknown>()
  const required = new Set<string>()
  for (const s of shapes) {
    for (const [name, p] of s.properties) if (!props.has(name)) props.set(name, p)
    if (keepRequired) for (const r of s.required) required.add(r)
  }
  return { kind: 'object', properties: [...props], required, schema, freeForm: props.size === 0 && shapes.every((s) => s.freeForm) }
}

/** Combines the shapes of `oneOf`/`anyOf` alternatives (all optional) or `allOf` members (all required). */
function combine(members: unknown[], schema: Obj, all: boolean, depth: number): Shape {
  const keyword = all ? 'allOf' : schema.oneOf ? 'oneOf' : 'anyOf'
  const variants = all ? members : members.filter((m) => !isNullSchema(m))
  if (variants.length === 0) return { kind: 'scalar', type: 'text', schema }
  const shapes = variants.map((m) => shapeOf(m, depth + 1))
  const bad = shapes.find((s) => s.kind === 'unmappable')
  if (bad) return bad
  if (shapes.length === 1) return shapes[0]
  if (shapes.every((s) => s.kind === 'object')) return mergeObjects(shapes as Array<Extract<Shape, { kind: 'object' }>>, schema, all)
  if (shapes.every((s) => s.kind === 'scalar')) {
    const types = new Set(shapes.map((s) => (s as Extract<Shape, { kind: 'scalar' }>).type))
    if (types.size === 1) return shapes[0]
    if (!all) return { kind: 'scalar', type: 'text', schema }
  }
  if (!all && shapes.every((s) => s.kind === 'array')) return shapes[0]
  return { kind: 'unmappable', reason: `${keyword} combines incompatible schemas (${[...new Set(shapes.map((s) => s.kind))].join(' and ')}); too complex to map` }
}

/** What a schema describes, after resolving combinations, nullability and 3.1 type arrays. */
export function shapeOf(input: unknown, depth = 0): Shape {
  if (input === true || input === undefined) return { kind: 'scalar', type: 'text', schema: {} }
  if (!isObj(input)) return { kind: 'unmappable', reason: 'not a schema object' }
  const schema = input
  if (typeof schema[EXTERNAL_REF] === 'string') return { kind: 'unmappable', reason: `external $ref "${schema[EXTERNAL_REF]}" not followed` }
  if (typeof schema[UNRESOLVED_REF] === 'string') return { kind: 'unmappable', reason: `$ref "${schema[UNRESOLVED_REF]}" does not resolve` }
  if (typeof schema.$ref === 'string') return { kind: 'unmappable', reason: `$ref "${schema.$ref}" could not be resolved` }
  if (depth > MAX_COMBINATION_DEPTH) return { kind: 'unmappable', reason: 'schema combinations nested too deeply' }

  const own: Obj = { ...schema }
  delete own.allOf
  delete own.oneOf
  delete own.anyOf
  const ownHasStructure = own.type !== undefined || isObj(own.properties) || own.items !== undefined
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const members = ownHasStructure ? [...schema.allOf, own] : schema.allOf
    return withMeta(combine(members, schema, true, depth), schema)
  }
  const alternatives = Array.isArray(schema.oneOf) ? schema.oneOf : Array.isArray(schema.anyOf) ? schema.anyOf : undefined
  if (alternatives && alternatives.length > 0 && !ownHasStructure) return withMeta(combine(alternatives, schema, false, depth), schema)

  let type = schema.type
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null')
    if (nonNull.length === 0) type = 'null'
    else if (nonNull.length === 1) type = nonNull[0]
    else if (nonNull.every((t) => t !== 'object' && t !== 'array')) return { kind: 'scalar', type: 'text', schema }
    else return { kind: 'unmappable', reason: `type ${JSON.stringify(nonNull)} mixes structured and scalar values` }
  }
  if (type === undefined) {
    if (isObj(schema.properties) || isObj(schema.additionalProperties) || schema.additionalProperties === true) type = 'object'
    else if (schema.items !== undefined) type = 'array'
    else if (Array.isArray(schema.enum) && schema.enum.length > 0) {
      const t = typeof schema.enum.find((v) => v !== null)
      type = t === 'number' ? 'number' : t === 'boolean' ? 'boolean' : 'string'
    } else type = 'string'
  }
  if (type === 'object') {
    const properties = isObj(schema.properties) ? Object.entries(schema.properties) : []
    const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [])
    return { kind: 'object', properties, required, schema, freeForm: properties.length === 0 }
  }
  if (type === 'array') return { kind: 'array', items: schema.items, schema }
  if (typeof type === 'string') {
    const scalar = scalarOf(type, schema)
    if (scalar) return scalar
  }
  return { kind: 'unmappable', reason: `unknown schema type ${JSON.stringify(type)}` }
}

/** Keeps description/default/readOnly written beside a combination (e.g. `allOf: [$ref]` + description). */
function withMeta(shape: Shape, schema: Obj): Shape {
  if (shape.kind === 'unmappable') return shape
  const meta: Obj = {}
  for (const k of ['description', 'default', 'readOnly', 'writeOnly', 'title']) if (schema[k] !== undefined) meta[k] = schema[k]
  if (Object.keys(meta).length === 0) return shape
  return { ...shape, schema: { ...shape.schema, ...meta } }
}

export interface FlattenOptions {
  direction: 'request' | 'response'
  /** JSON pointer of the schema in the source, for the report. */
  at: string
  /** Where the operation is, to prefix skipped reasons (`GET /pets`). */
  label: string
}

const scalarDefault = (v: unknown): string | number | boolean | undefined =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) ? v : undefined

/**
 * Flattens an object shape into fields: nested objects become dotted locations up to the configured
 * depth, arrays of scalars become `name[]`. Everything else is reported as skipped.
 * Breadth-first, so top-level properties win when the field limit is reached.
 */
export function flattenFields(root: Extract<Shape, { kind: 'object' }>, ctx: ImportContext, opts: FlattenOptions): Field[] {
  const { maxFieldDepth, maxFieldsPerBody } = ctx.options
  const fields: Field[] = []
  const names = systemNameSet()
  const request = opts.direction === 'request'
  interface Item {
    shape: Extract<Shape, { kind: 'object' }>
    prefix: string[]
    at: string
    optional: boolean
    ancestors: Set<object>
  }
  const queue: Item[] = [{ shape: root, prefix: [], at: opts.at, optional: false, ancestors: new Set([root.schema]) }]
  let limitReported = false
  while (queue.length > 0) {
    const item = queue.shift()!
    for (const [prop, propSchema] of item.shape.properties) {
      const at = child(item.at, 'properties', prop)
      const loc = [...item.prefix, prop]
      if (isObj(propSchema) && ((request && propSchema.readOnly === true) || (!request && propSchema.writeOnly === true))) continue
      if (prop === '' || /[.[\]]/.test(prop)) {
        ctx.skip(at, `${opts.label}: property name "${prop}" cannot be written as a field location`)
        continue
      }
      const shape = shapeOf(propSchema)
      if (shape.kind !== 'unmappable' && ((request && shape.schema.readOnly === true) || (!request && shape.schema.writeOnly === true))) continue
      const optional = item.optional || !item.shape.required.has(prop)
      if (shape.kind === 'unmappable') {
        ctx.skip(at, `${opts.label}: ${loc.join('.')}: ${shape.reason}`)
        continue
      }
      if (shape.kind === 'object') {
        if (shape.freeForm) {
          ctx.skip(at, `${opts.label}: ${loc.join('.')}: free-form object (no declared properties)`)
        } else if (item.ancestors.has(shape.schema)) {
          ctx.skip(at, `${opts.label}: ${loc.join('.')}: circular reference not expanded`)
        } else if (loc.length >= maxFieldDepth) {
          ctx.skip(at, `${opts.label}: ${loc.join('.')}: nested deeper than ${maxFieldDepth} levels`)
        } else {
          queue.push({ shape, prefix: loc, at, optional, ancestors: new Set([...item.ancestors, shape.schema]) })
        }
        continue
      }
      let location = loc.join('.')
      let scalar: Extract<Shape, { kind: 'scalar' }>
      if (shape.kind === 'array') {
        const itemShape = shapeOf(shape.items)
        if (itemShape.kind !== 'scalar') {
          const why = itemShape.kind === 'unmappable' ? `array items: ${itemShape.reason}` : `array of ${itemShape.kind === 'object' ? 'objects' : 'arrays'} is not flattened`
          ctx.skip(at, `${opts.label}: ${location}: ${why}`)
          continue
        }
        scalar = { ...itemShape, schema: { ...itemShape.schema, description: shape.schema.description ?? itemShape.schema.description } }
        location += '[]'
      } else {
        scalar = shape
      }
      if (fields.length >= maxFieldsPerBody) {
        if (!limitReported) ctx.skip(at, `${opts.label}: more than ${maxFieldsPerBody} ${opts.direction} fields; the rest were not mapped`)
        limitReported = true
        continue
      }
      if (location.length > 500) {
        ctx.skip(at, `${opts.label}: location longer than 500 characters`)
        continue
      }
      const field: Field = { location, field: names.claim(pascalName(loc.join(' '))), displayName: truncate(humanize(loc.join(' ')), 200), type: scalar.type }
      const enumValues = Array.isArray(scalar.schema.enum) ? scalar.schema.enum.filter((e) => e !== null).map(String) : []
      const description = [nonEmpty(scalar.schema.description), enumValues.length > 0 ? `Allowed values: ${enumValues.join(', ')}.` : undefined]
        .filter(Boolean)
        .join(' ')
      if (description) field.description = truncate(oneLine(description), 1000)
      if (scalar.format) field.format = scalar.format
      if (request && optional) field.optional = true
      const def = scalarDefault(scalar.schema.default)
      if (def !== undefined && request) field.default = def
      if (!request && scalar.schema.readOnly === true) field.readOnly = true
      fields.push(field)
    }
  }
  return fields
}

const RECORD_KEYS = ['data', 'items', 'results', 'records', 'values', 'entries', 'rows', 'list', 'elements', 'hits', 'content']
const WRAPPER_KEYS = ['data', 'result', 'response', 'payload']
const META_KEYS = /^(_?links?|meta|metadata|paging|pagination|page_?info|cursor|next|prev(ious)?|has_?more|total(_?count)?|count|page|per_?page|page_?size|limit|offset|size|next_?(page|cursor|token|link|url)|continuation_?token|object|url|type|status|success|message|errors?|warnings?)$/i

export interface RecordGuess {
  records: string
  item: Shape
}

/**
 * Guesses the record array of a list response: a top-level array, a well-known key (`data`, `items`,
 * `results`, `records`…) holding an array of objects, or — when `loose` (a GET on a collection
 * path) — the only array of objects of an envelope whose other properties are scalars or paging
 * metadata and carry no `id`. One wrapper level (`data.items`) is looked into.
 */
export function guessRecords(shape: Shape, loose: boolean, depth = 0): RecordGuess | undefined {
  if (shape.kind === 'array') return { records: '', item: shapeOf(shape.items) }
  if (shape.kind !== 'object' || depth > 1) return undefined
  const props = new Map(shape.properties)
  const arrayOf = (name: string): Shape | undefined => {
    const s = shapeOf(props.get(name))
    return s.kind === 'array' ? shapeOf(s.items) : undefined
  }
  for (const key of RECORD_KEYS) {
    if (!props.has(key)) continue
    const item = arrayOf(key)
    if (item && item.kind === 'object') return { records: key, item }
  }
  const candidates = [...props.keys()].filter((k) => arrayOf(k)?.kind === 'object')
  if (loose && candidates.length === 1) {
    const siblings = [...props.keys()].filter((k) => k !== candidates[0])
    const envelope = siblings.every((k) => {
      if (/^(id|uuid|_id|guid)$/i.test(k)) return false
      if (META_KEYS.test(k)) return true
      const s = shapeOf(props.get(k))
      return s.kind === 'scalar'
    })
    if (envelope) return { records: candidates[0], item: arrayOf(candidates[0])! }
  }
  if (depth === 0) {
    for (const key of WRAPPER_KEYS) {
      if (!props.has(key)) continue
      const inner = guessRecords(shapeOf(props.get(key)), loose, depth + 1)
      if (inner && inner.records !== '') return { records: `${key}.${inner.records}`, item: inner.item }
    }
  }
  return undefined
}

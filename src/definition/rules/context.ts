// A defensive, indexed view of a release for the push rules. Push reports shape AND semantic
// problems together, so rules may see malformed input: lists that are not arrays or items that are
// not objects are skipped here (the shape check already reported them), keeping rules simple.
import { at, type Problem } from '../problems.js'
import type { Authentication, ConnectorDefinition, Field, Lookup, Method, Parameter, ReleaseSettings } from '../schema.js'

/** An element of a list with its JSON pointer. */
export interface Item<T> {
  value: T
  path: string
}

export interface MethodItem extends Item<Method> {
  id: string | undefined
  /** `type` defaults to action. */
  type: string
  parameters: Item<Parameter>[]
  requestFields: Item<Field>[]
  responseFields: Item<Field>[]
}

export interface ReleaseView {
  settings: ReleaseSettings
  definition: ConnectorDefinition
  methods: MethodItem[]
  /** First method with each id. */
  methodById: Map<string, MethodItem>
  parameters: Item<Parameter>[]
  authentications: Item<Authentication>[]
  lookups: Item<Lookup>[]
}

export type Rule = (view: ReleaseView) => Problem[]

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The object elements of `list` (if it is an array) with their paths. */
export function items<T>(list: unknown, path: string): Item<T>[] {
  if (!Array.isArray(list)) return []
  return list.flatMap((value, i) => (isRecord(value) ? [{ value: value as T, path: at(path, i) }] : []))
}

/** `value` when it is an object, else `undefined`. */
export const record = <T>(value: T | undefined): T | undefined => (isRecord(value) ? value : undefined)

/** `value` as a plain object of unknowns, or `undefined`: for code that reads untyped input. */
export const obj = (value: unknown): Record<string, unknown> | undefined => (isRecord(value) ? value : undefined)

export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

export function releaseView(settings: unknown, definition: unknown): ReleaseView {
  const def = (isRecord(definition) ? definition : {}) as ConnectorDefinition
  const methods = items<Method>(def.methods, '/definition/methods').map((m): MethodItem => {
    const request = record(m.value.request)
    const response = record(m.value.response)
    return {
      ...m,
      id: str(m.value.id),
      type: str(m.value.type) ?? 'action',
      parameters: items(m.value.parameters, at(m.path, 'parameters')),
      requestFields: items(request?.fields, at(m.path, 'request', 'fields')),
      responseFields: items(response?.fields, at(m.path, 'response', 'fields')),
    }
  })
  const methodById = new Map<string, MethodItem>()
  for (const m of methods) if (m.id !== undefined && !methodById.has(m.id)) methodById.set(m.id, m)
  return {
    settings: (isRecord(settings) ? settings : {}) as ReleaseSettings,
    definition: def,
    methods,
    methodById,
    parameters: items(def.parameters, '/definition/parameters'),
    authentications: items(def.authentications, '/definition/authentications'),
    lookups: items(def.lookups, '/definition/lookups'),
  }
}

/** One problem per repeated name: `duplicate <what> "x" (first at <path>)`. */
export function duplicates<T>(list: Item<T>[], key: (v: T) => unknown, property: string, what: string): Problem[] {
  const first = new Map<unknown, string>()
  const out: Problem[] = []
  for (const item of list) {
    const k = key(item.value)
    if (typeof k !== 'string') continue
    const seen = first.get(k)
    if (seen) out.push({ path: at(item.path, property), message: `duplicate ${what} "${k}" (first at ${seen})` })
    else first.set(k, item.path)
  }
  return out
}

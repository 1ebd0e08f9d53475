// Release diff (SPEC §7, STYLE §2.10): a pure comparison of two releases, classifying every change
// as breaking or additive. Breaking = something existing steps or installs rely on is removed, a new
// required input appears, or the meaning of an existing input/output/call changes (field type or
// location, parameter target, HTTP verb or path, body format, records location, base URL).
// Presentation (names, descriptions, categories), relaxations, additions and tuning (paging sizes,
// rate limits, scripts) are additive. Methods match by `id`, fields by `field`, parameters by
// `name`, authentications by `id`, lookups by `name`.
import { at } from '../definition/problems.js'
import { items, obj, releaseView, type Item, type MethodItem } from '../definition/rules/context.js'

export type ChangeObject =
  | 'method' | 'http' | 'format' | 'records' | 'requestField' | 'responseField' | 'parameter' | 'authentication' | 'authField'
  | 'lookup' | 'setting' | 'baseUrl' | 'paging' | 'rateLimits' | 'script' | 'webhook' | 'webhookRouting' | 'definition'

export interface Change {
  type: 'added' | 'removed' | 'changed'
  object: ChangeObject
  /** JSON pointer into the head release (into the base release for removals). */
  path: string
  methodId?: string
  /** The name or id of the changed object (field system name, parameter name, auth id, setting…). */
  name?: string
  breaking: boolean
  message: string
  before?: unknown
  after?: unknown
}

export interface ReleaseDiff {
  changes: Change[]
  breaking: boolean
  suggestedKind: 'major' | 'minor' | 'none'
}

type Rec = Record<string, unknown>
type Side = { settings?: unknown; definition?: unknown }

export function diffReleases(base: Side, head: Side): ReleaseDiff {
  const b = releaseView(base.settings, base.definition)
  const h = releaseView(head.settings, head.definition)
  const changes = [
    ...settingChanges(b.settings as Rec, h.settings as Rec),
    ...definitionChanges(b.definition as Rec, h.definition as Rec),
    ...parameterChanges(b.parameters, h.parameters, { label: 'connector' }),
    ...authenticationChanges(b.authentications as Item<Rec>[], h.authentications as Item<Rec>[]),
    ...lookupChanges(b.lookups as Item<Rec>[], h.lookups as Item<Rec>[]),
    ...methodChanges(b.methods, h.methods),
  ]
  const breaking = changes.some((c) => c.breaking)
  return { changes, breaking, suggestedKind: breaking ? 'major' : changes.length ? 'minor' : 'none' }
}

// ---- helpers -----------------------------------------------------------------------------------

/** Structural equality of JSON values, ignoring key order. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same((a as Rec)[k], (b as Rec)[k]))
}

const show = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v))

function match<T extends Rec>(base: Item<T>[], head: Item<T>[], key: string) {
  const index = (list: Item<T>[]) => new Map(list.filter((i) => typeof i.value[key] === 'string').map((i) => [i.value[key] as string, i]))
  const b = index(base)
  const h = index(head)
  return {
    removed: [...b].filter(([k]) => !h.has(k)),
    added: [...h].filter(([k]) => !b.has(k)),
    both: [...h].filter(([k]) => b.has(k)).map(([k, hi]) => [k, b.get(k)!, hi] as const),
  }
}

interface Scope {
  /** Message prefix: `method "x"`, `connector`, `authentication "key"`. */
  label: string
  methodId?: string
  /** Prefix of property names in messages: `http.` gives "http.path changed". */
  keyPrefix?: string
}

/**
 * One change per differing property of two matched objects. `breaking` lists the properties whose
 * change is breaking; `skip` the ones compared elsewhere (nested lists).
 */
function propertyChanges(object: ChangeObject, b: Rec, h: Rec, path: string, scope: Scope & { name?: string }, breaking: readonly string[], skip: readonly string[] = []): Change[] {
  const keys = [...new Set([...Object.keys(b), ...Object.keys(h)])].filter((k) => !skip.includes(k))
  return keys
    .filter((k) => !same(b[k], h[k]))
    .map((k) => ({
      type: 'changed' as const,
      object,
      path: at(path, k),
      ...(scope.methodId !== undefined ? { methodId: scope.methodId } : {}),
      ...(scope.name !== undefined ? { name: scope.name } : {}),
      breaking: breaking.includes(k),
      message: `${scope.label}: ${scope.keyPrefix ?? ''}${k} changed from ${show(b[k])} to ${show(h[k])}`,
      before: b[k],
      after: h[k],
    }))
}

const change = (c: Omit<Change, 'methodId'> & { methodId?: string | undefined }): Change => {
  const { methodId, ...rest } = c
  return methodId === undefined ? rest : { ...rest, methodId }
}

// ---- release level -----------------------------------------------------------------------------

/** Settings never change what a step sends, except where webhooks arrive. */
function settingChanges(b: Rec, h: Rec): Change[] {
  return propertyChanges('setting', b, h, '/settings', { label: 'settings' }, ['useSingularPartnerWebhookUrl']).map((c) => ({ ...c, name: c.path.split('/').pop()! }))
}

function definitionChanges(b: Rec, h: Rec): Change[] {
  const objects: Record<string, ChangeObject> = { baseUrl: 'baseUrl', paging: 'paging', rateLimits: 'rateLimits', script: 'script', definitionVersion: 'definition' }
  const out = propertyChanges('definition', b, h, '/definition', { label: 'release' }, ['baseUrl'], ['parameters', 'authentications', 'lookups', 'methods', 'webhookRouting'])
    .map((c) => ({ ...c, object: objects[c.path.split('/').pop()!] ?? c.object }))
  const rb = obj(b.webhookRouting) ?? {}
  const rh = obj(h.webhookRouting) ?? {}
  // Routing keys decide which accounts receive deliveries: changing them strands existing installs.
  out.push(...propertyChanges('webhookRouting', rb, rh, '/definition/webhookRouting', { label: 'webhook routing' }, ['key', 'match']))
  return out
}

// ---- parameters and fields ---------------------------------------------------------------------

/** A value a step or an install must now supply: not optional, no default, not computed from `value`. */
const paramNeedsInput = (p: Rec): boolean => p.optional !== true && p.default === undefined && p.value === undefined && p.scope !== 'fixed'
const fieldNeedsInput = (f: Rec): boolean => f.optional !== true && f.default === undefined

function parameterChanges(base: Item<Rec>[] | Item<unknown>[], head: Item<Rec>[] | Item<unknown>[], scope: Scope): Change[] {
  const { removed, added, both } = match(base as Item<Rec>[], head as Item<Rec>[], 'name')
  const label = (n: string) => `${scope.label === 'connector' ? 'connector parameter' : `${scope.label}: parameter`} "${n}"`
  const methodId = scope.methodId
  return [
    ...removed.map(([n, i]) => change({ type: 'removed', object: 'parameter', path: i.path, methodId, name: n, breaking: true, message: `${label(n)} removed` })),
    ...added.map(([n, i]) => {
      const required = paramNeedsInput(i.value)
      return change({ type: 'added', object: 'parameter', path: i.path, methodId, name: n, breaking: required, message: `${label(n)} added${required ? ' (required, no default)' : ''}` })
    }),
    ...both.flatMap(([n, b, h]) => {
      const out = propertyChanges('parameter', b.value, h.value, h.path, { label: label(n), methodId, name: n }, ['target', 'targetName', 'scope'], ['optional', 'default'])
      if (!paramNeedsInput(b.value) && paramNeedsInput(h.value)) {
        out.push(change({ type: 'changed', object: 'parameter', path: h.path, methodId, name: n, breaking: true, message: `${label(n)} made required` }))
      } else {
        out.push(...propertyChanges('parameter', pick(b.value, 'optional', 'default'), pick(h.value, 'optional', 'default'), h.path, { label: label(n), methodId, name: n }, []))
      }
      return out
    }),
  ]
}

function fieldChanges(kind: 'requestField' | 'responseField', base: Item<unknown>[], head: Item<unknown>[], scope: Scope): Change[] {
  const { removed, added, both } = match(base as Item<Rec>[], head as Item<Rec>[], 'field')
  const what = kind === 'requestField' ? 'request field' : 'response field'
  const label = (n: string) => `${scope.label}: ${what} "${n}"`
  const methodId = scope.methodId
  const typeOf = (f: Rec) => f.type ?? 'text'
  return [
    ...removed.map(([n, i]) => change({ type: 'removed', object: kind, path: i.path, methodId, name: n, breaking: true, message: `${label(n)} removed` })),
    ...added.map(([n, i]) => {
      const required = kind === 'requestField' && fieldNeedsInput(i.value)
      return change({ type: 'added', object: kind, path: i.path, methodId, name: n, breaking: required, message: `${label(n)} added${required ? ' (required, no default)' : ''}` })
    }),
    ...both.flatMap(([n, b, h]) => {
      // `type` defaults to text: spelling the default out is not a change.
      const out = propertyChanges(kind, { ...b.value, type: typeOf(b.value) }, { ...h.value, type: typeOf(h.value) }, h.path, { label: label(n), methodId, name: n }, ['type', 'location'], ['optional', 'default'])
      if (kind === 'requestField' && !fieldNeedsInput(b.value) && fieldNeedsInput(h.value)) {
        out.push(change({ type: 'changed', object: kind, path: h.path, methodId, name: n, breaking: true, message: `${label(n)} made required` }))
      } else {
        out.push(...propertyChanges(kind, pick(b.value, 'optional', 'default'), pick(h.value, 'optional', 'default'), h.path, { label: label(n), methodId, name: n }, []))
      }
      return out
    }),
  ]
}

const pick = (o: Rec, ...keys: string[]): Rec => Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]))

// ---- authentications and lookups ---------------------------------------------------------------

function authenticationChanges(base: Item<Rec>[], head: Item<Rec>[]): Change[] {
  const { removed, added, both } = match(base, head, 'id')
  return [
    ...removed.map(([id, i]) => change({ type: 'removed', object: 'authentication', path: i.path, name: id, breaking: true, message: `authentication "${id}" (${i.value.type}) removed` })),
    ...added.map(([id, i]) => change({ type: 'added', object: 'authentication', path: i.path, name: id, breaking: false, message: `authentication "${id}" (${i.value.type}) added` })),
    ...both.flatMap(([id, b, h]) => {
      // A new type is a different authentication altogether: one change, not one per property.
      if (b.value.type !== h.value.type) return propertyChanges('authentication', pick(b.value, 'type'), pick(h.value, 'type'), h.path, { label: `authentication "${id}"`, name: id }, ['type'])
      // Stored credentials belong to a type and grant; anything else is how they are sent.
      return [
        ...propertyChanges('authentication', b.value, h.value, h.path, { label: `authentication "${id}"`, name: id }, ['grant'], ['fields']),
        ...(h.value.type === 'authFields' ? authFieldChanges(id, b, h) : []),
      ]
    }),
  ]
}

function authFieldChanges(id: string, b: Item<Rec>, h: Item<Rec>): Change[] {
  const { removed, added, both } = match(items<Rec>(b.value.fields, at(b.path, 'fields')), items<Rec>(h.value.fields, at(h.path, 'fields')), 'key')
  const label = (k: string) => `authentication "${id}": field "${k}"`
  return [
    ...removed.map(([k, i]) => change({ type: 'removed', object: 'authField', path: i.path, name: k, breaking: true, message: `${label(k)} removed` })),
    ...added.map(([k, i]) => {
      const required = i.value.optional !== true
      return change({ type: 'added', object: 'authField', path: i.path, name: k, breaking: required, message: `${label(k)} added${required ? ' (required: existing installs lack it)' : ''}` })
    }),
    ...both.flatMap(([k, bi, hi]) => {
      const out = propertyChanges('authField', bi.value, hi.value, hi.path, { label: label(k), name: k }, [])
      const madeRequired = bi.value.optional === true && hi.value.optional !== true
      return madeRequired ? out.map((c) => (c.path.endsWith('/optional') ? { ...c, breaking: true, message: `${label(k)} made required` } : c)) : out
    }),
  ]
}

function lookupChanges(base: Item<Rec>[], head: Item<Rec>[]): Change[] {
  const { removed, added, both } = match(base, head, 'name')
  return [
    ...removed.map(([n, i]) => change({ type: 'removed', object: 'lookup', path: i.path, name: n, breaking: true, message: `lookup "${n}" removed` })),
    ...added.map(([n, i]) => change({ type: 'added', object: 'lookup', path: i.path, name: n, breaking: false, message: `lookup "${n}" added` })),
    // Steps store the chosen values: a different value path makes them mean something else.
    ...both.flatMap(([n, b, h]) => propertyChanges('lookup', b.value, h.value, h.path, { label: `lookup "${n}"`, name: n }, ['valuePath'])),
  ]
}

// ---- methods -----------------------------------------------------------------------------------

function methodChanges(base: MethodItem[], head: MethodItem[]): Change[] {
  const { removed, added, both } = match(base as unknown as Item<Rec>[], head as unknown as Item<Rec>[], 'id')
  const headById = new Map(head.map((m) => [m.id, m]))
  const baseById = new Map(base.map((m) => [m.id, m]))
  const out: Change[] = [
    ...removed.map(([id, i]) => change({ type: 'removed', object: 'method', path: i.path, methodId: id, name: id, breaking: true, message: `method "${id}" removed` })),
    ...added.map(([id, i]) => change({ type: 'added', object: 'method', path: i.path, methodId: id, name: id, breaking: false, message: `method "${id}" added` })),
  ]
  for (const [id] of both) out.push(...oneMethod(id, baseById.get(id)!, headById.get(id)!))
  return out
}

function oneMethod(id: string, b: MethodItem, h: MethodItem): Change[] {
  const scope = { label: `method "${id}"`, methodId: id }
  const bv = b.value as unknown as Rec
  const hv = h.value as unknown as Rec
  const nested = ['http', 'request', 'response', 'parameters', 'records', 'paging', 'rateLimits', 'script', 'webhook']
  const bHttp = obj(bv.http) ?? {}
  const hHttp = obj(hv.http) ?? {}
  const bReq = obj(bv.request) ?? {}
  const hReq = obj(hv.request) ?? {}
  const bRes = obj(bv.response) ?? {}
  const hRes = obj(hv.response) ?? {}
  const at2 = (k: string) => at(h.path, k)
  return [
    ...propertyChanges('method', { ...bv, type: b.type }, { ...hv, type: h.type }, h.path, scope, ['type'], nested),
    ...propertyChanges('http', bHttp, hHttp, at2('http'), { ...scope, keyPrefix: 'http.' }, ['method', 'path']),
    ...propertyChanges('format', pick(bReq, 'format', 'xmlRoot'), pick(hReq, 'format', 'xmlRoot'), at2('request'), { ...scope, keyPrefix: 'request.' }, ['format', 'xmlRoot']),
    ...propertyChanges('format', pick(bRes, 'format'), pick(hRes, 'format'), at2('response'), { ...scope, keyPrefix: 'response.' }, ['format']),
    ...propertyChanges('records', pick(bv, 'records'), pick(hv, 'records'), h.path, scope, ['records']),
    ...(['paging', 'rateLimits', 'script', 'webhook'] as const).flatMap((k) => propertyChanges(k, pick(bv, k), pick(hv, k), h.path, scope, [])),
    ...parameterChanges(b.parameters, h.parameters, scope),
    ...fieldChanges('requestField', b.requestFields, h.requestFields, scope),
    ...fieldChanges('responseField', b.responseFields, h.responseFields, scope),
  ]
}

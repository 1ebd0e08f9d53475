// Methods: presence, unique ids and names, HTTP calls, base URL, webhook subscription methods.
import { at, type Problem } from '../problems.js'
import { suggest } from '../suggest.js'
import { duplicates, record, str, type MethodItem, type ReleaseView, type Rule } from './context.js'

/** A path that brings its own origin: an absolute URL, or one starting with a variable (`{{InstanceUrl}}/…`). */
export const isAbsolutePath = (path: string): boolean => /^https?:\/\//i.test(path) || path.startsWith('{{')

export const methodRules: Rule = (view) => [
  ...presence(view),
  ...duplicates(view.methods, (m) => m.id, 'id', 'method id'),
  ...view.methods.flatMap((m) => [...httpCall(m), ...uniqueNames(m), ...webhookSettings(view, m)]),
  ...baseUrl(view),
]

function presence(view: ReleaseView): Problem[] {
  return view.methods.length ? [] : [{ path: '/definition/methods', message: 'a release needs at least one method' }]
}

function httpCall(m: MethodItem): Problem[] {
  if (m.type !== 'action' || record(m.value.http)) return []
  return [{ path: at(m.path, 'http'), message: 'required for an action method (the HTTP method and path to call)' }]
}

function uniqueNames(m: MethodItem): Problem[] {
  return [
    ...duplicates(m.parameters, (p) => p.name, 'name', 'parameter name'),
    ...duplicates(m.requestFields, (f) => f.field, 'field', 'request field'),
    ...duplicates(m.responseFields, (f) => f.field, 'field', 'response field'),
  ]
}

/** baseUrl must be an absolute URL, and present as soon as one method uses a relative path. */
function baseUrl(view: ReleaseView): Problem[] {
  const base = str(view.definition.baseUrl)
  if (base) return isAbsolutePath(base) ? [] : [{ path: '/definition/baseUrl', message: `must start with http:// or https:// (or a {{variable}}) (got "${base}")` }]
  const relative = view.methods.filter((m) => {
    const path = str(record(m.value.http)?.path)
    return m.type === 'action' && path !== undefined && !isAbsolutePath(path)
  })
  if (!relative.length) return []
  const first = relative[0]
  const more = relative.length > 1 ? ` and ${relative.length - 1} more` : ''
  return [{ path: '/definition/baseUrl', message: `required: method "${first.id}" has a relative path ("${record(first.value.http)?.path}")${more}` }]
}

/** Subscription methods must exist and make HTTP calls; webhook settings belong to webhook methods. */
function webhookSettings(view: ReleaseView, m: MethodItem): Problem[] {
  const webhook = record(m.value.webhook)
  if (!webhook) return []
  const out: Problem[] = []
  if (m.type !== 'webhook') out.push({ path: at(m.path, 'webhook'), message: `only webhook methods have webhook settings (this method's type is ${m.type})` })
  for (const key of ['createMethod', 'updateMethod', 'deleteMethod'] as const) {
    const problem = methodReference(view, webhook[key], ['action'])
    if (problem) out.push({ path: at(m.path, 'webhook', key), message: problem })
  }
  const eventType = record(webhook.eventType)
  if (eventType && !eventType.location && !eventType.header) {
    out.push({ path: at(m.path, 'webhook', 'eventType'), message: 'needs location (a body path) or header to read the event type from' })
  }
  return out
}

/** Why `id` is not an acceptable method reference, or `undefined` when it is (or is absent). */
export function methodReference(view: ReleaseView, id: unknown, types: readonly string[]): string | undefined {
  if (typeof id !== 'string') return undefined
  const target = view.methodById.get(id)
  if (!target) return `must name a method of this release (got "${id}")${suggest(id, view.methodById.keys())}`
  if (!types.includes(target.type)) return `must name ${article(types.join(' or '))} method ("${id}" is ${article(target.type)} method)`
  return undefined
}

const article = (word: string): string => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`

// Cross-references by name: settings → methods, lookups → methods, parameters/fields → lookups,
// and the singular-webhook routing → connector properties.
import { at, type Problem } from '../problems.js'
import { suggest } from '../suggest.js'
import { duplicates, record, str, type Item, type ReleaseView, type Rule } from './context.js'
import { methodReference } from './methods.js'

export const referenceRules: Rule = (view) => [...postInstall(view), ...lookups(view), ...lookupUses(view), ...webhookRouting(view)]

/** Post-install methods run against the API right after authentication: real HTTP calls. */
function postInstall(view: ReleaseView): Problem[] {
  const out = (['postInstallTestAuthMethod', 'postInstallPropertyLookupMethod'] as const).flatMap((key) => {
    const problem = methodReference(view, view.settings[key], ['action'])
    return problem ? [{ path: at('/settings', key), message: problem }] : []
  })
  return [...out, ...postInstallMappings(view)]
}

/** Each mapping sets an account-scope connector parameter, and needs the lookup method to run. */
function postInstallMappings(view: ReleaseView): Problem[] {
  const mappings = view.settings.postInstallPropertyMappings
  if (!Array.isArray(mappings) || mappings.length === 0) return []
  const out: Problem[] = []
  if (!view.settings.postInstallPropertyLookupMethod) {
    out.push({ path: '/settings/postInstallPropertyMappings', message: 'needs settings.postInstallPropertyLookupMethod (the method whose response is read)' })
  }
  mappings.forEach((m, i) => {
    if (m && typeof m === 'object') out.push(...connectorProperty(view, m.property, 'account', at('/settings/postInstallPropertyMappings', i, 'property')))
  })
  return out
}

function lookups(view: ReleaseView): Problem[] {
  const out = duplicates(view.lookups, (l) => l.name, 'name', 'lookup name')
  for (const { value: lookup, path } of view.lookups) {
    const problem = methodReference(view, lookup.method, ['action', 'script'])
    if (problem) out.push({ path: at(path, 'method'), message: problem })
    const method = typeof lookup.method === 'string' ? view.methodById.get(lookup.method) : undefined
    const search = str(lookup.searchParameter)
    if (method && search !== undefined) {
      const names = [...view.parameters, ...method.parameters].map((p) => p.value.name).filter((n): n is string => typeof n === 'string')
      if (!names.includes(search)) {
        out.push({ path: at(path, 'searchParameter'), message: `must name a parameter of method "${method.id}" (got "${search}")${suggest(search, names)}` })
      }
    }
  }
  return out
}

/** Every `lookup:` on a parameter or field names a lookup of this release. */
function lookupUses(view: ReleaseView): Problem[] {
  const names = new Set(view.lookups.map((l) => l.value.name).filter((n): n is string => typeof n === 'string'))
  const users: Item<{ lookup?: unknown }>[] = [
    ...view.parameters,
    ...view.methods.flatMap((m) => [...m.parameters, ...m.requestFields, ...m.responseFields]),
  ]
  return users.flatMap(({ value, path }) =>
    typeof value.lookup === 'string' && !names.has(value.lookup)
      ? [{ path: at(path, 'lookup'), message: `must name a lookup of this release (got "${value.lookup}")${suggest(value.lookup, names)}` }]
      : [],
  )
}

/** SPEC §6: a singular partner webhook URL needs a routing key and something to match it with. */
function webhookRouting(view: ReleaseView): Problem[] {
  const routing = record(view.definition.webhookRouting)
  const path = '/definition/webhookRouting'
  if (!routing) {
    return view.settings.useSingularPartnerWebhookUrl === true ? [{ path, message: 'required when settings.useSingularPartnerWebhookUrl is true (how deliveries find their accounts)' }] : []
  }
  const out: Problem[] = []
  const key = record(routing.key)
  if (key) out.push(...exactlyOne(key, ['location', 'header'], at(path, 'key')))
  const match = record(routing.match)
  if (match) {
    const given = [match.property !== undefined ? 'property' : undefined, match.externalId === true ? 'externalId' : undefined].filter(Boolean)
    if (given.length !== 1) out.push({ path: at(path, 'match'), message: 'needs exactly one of property (an account connector property) or externalId: true' })
    out.push(...connectorProperty(view, match.property, 'account', at(path, 'match', 'property')))
  }
  const signature = record(routing.signature)
  if (signature) out.push(...connectorProperty(view, signature.secretProperty, 'partner', at(path, 'signature', 'secretProperty')))
  const dedupe = record(routing.dedupe)
  if (dedupe) out.push(...exactlyOne(dedupe, ['location', 'header'], at(path, 'dedupe')))
  return out
}

function exactlyOne(obj: Record<string, unknown>, keys: [string, string], path: string): Problem[] {
  const given = keys.filter((k) => obj[k] !== undefined)
  return given.length === 1 ? [] : [{ path, message: `needs exactly one of ${keys[0]} (a body path) or ${keys[1]}` }]
}

/** `name` must be a connector-level parameter of the given scope (account/partner properties). */
function connectorProperty(view: ReleaseView, name: unknown, scope: 'account' | 'partner', path: string): Problem[] {
  if (typeof name !== 'string') return []
  const found = view.parameters.find((p) => p.value.name === name)
  if (found?.value.scope === scope) return []
  const candidates = view.parameters.filter((p) => p.value.scope === scope).map((p) => String(p.value.name))
  const why = found ? `"${name}" has scope ${found.value.scope ?? 'step'}` : `got "${name}"`
  return [{ path, message: `must name a connector parameter with scope ${scope} (${why})${suggest(name, candidates)}` }]
}

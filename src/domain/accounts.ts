// Account and installation rules (SPEC §1, §5): pure decisions on plain data, no I/O.
// Which auth values an authentication takes, which account properties an install must give,
// time zones, and how secrets are shown (masked hints).
import type { Authentication, ConnectorDefinition, Parameter, ReleaseSettings } from '../definition/schema.js'
import { templateVariables } from '../definition/variables.js'

export interface Problem {
  path: string
  message: string
}

/** The canonical IANA name of a time zone (`europe/london` → `Europe/London`), or undefined. */
export function canonicalTimeZone(tz: string): string | undefined {
  // Names only: offsets such as "+02:00" are not time zones (they ignore daylight saving).
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return undefined
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

/** OAuth2 token values kept with the auth values; never shown, not even as hints. */
export const TOKEN_KEYS = ['AccessToken', 'RefreshToken', 'ExpiresAt'] as const
const TOKEN_KEY_SET: ReadonlySet<string> = new Set(TOKEN_KEYS)
export const isTokenKey = (key: string): boolean => TOKEN_KEY_SET.has(key)

export interface AuthValueSpec {
  /** Every key the authentication accepts. */
  allowed: readonly string[]
  required: readonly string[]
}

const APIKEY_VARIABLES = ['ApiKey', 'Username', 'Password']

/** The auth values an authentication takes, by type. */
export function authValueSpec(auth: Authentication | undefined): AuthValueSpec {
  if (!auth) return { allowed: [], required: [] }
  switch (auth.type) {
    case 'none':
      return { allowed: [], required: [] }
    case 'apiKey': {
      const used = templateVariables(auth.value ?? '{{ApiKey}}').filter((v) => APIKEY_VARIABLES.includes(v))
      const keys = used.length ? used : ['ApiKey']
      return { allowed: keys, required: keys }
    }
    case 'basic':
      return { allowed: ['Username', 'Password'], required: ['Username'] }
    case 'authFields':
      return { allowed: auth.fields.map((f) => f.key), required: auth.fields.filter((f) => !f.optional).map((f) => f.key) }
    case 'oauth2': {
      const client = ['ClientId', 'ClientSecret']
      // `clientCredentialsFrom: account`: every account brings its own OAuth2 app.
      const ownClient = auth.clientCredentialsFrom === 'account' ? ['ClientId'] : []
      if (auth.grant === 'password') return { allowed: ['Username', 'Password', ...client, ...TOKEN_KEYS], required: ['Username', 'Password', ...ownClient] }
      return { allowed: [...client, ...TOKEN_KEYS], required: ownClient }
    }
  }
}

/** Problems with the auth values given for an authentication (paths under `auth`). */
export function checkAuthValues(auth: Authentication | undefined, values: Readonly<Record<string, string>>): Problem[] {
  const spec = authValueSpec(auth)
  const out: Problem[] = []
  for (const key of Object.keys(values)) {
    if (!spec.allowed.includes(key)) {
      const expected = spec.allowed.length ? `; ${auth?.type} authentication "${auth?.id}" takes ${spec.allowed.join(', ')}` : `; authentication "${auth?.id ?? 'none'}" takes no values`
      out.push({ path: `auth.${key}`, message: `unknown auth value${expected}` })
    }
  }
  for (const key of spec.required) if (!values[key]) out.push({ path: `auth.${key}`, message: 'is required' })
  if (values.ExpiresAt !== undefined && Number.isNaN(Date.parse(values.ExpiresAt))) out.push({ path: 'auth.ExpiresAt', message: 'must be an ISO 8601 date-time' })
  return out
}

export interface PropertySpec {
  name: string
  displayName?: string
  description?: string
  required: boolean
  sensitive: boolean
  hidden: boolean
  lookup?: string
  /** Set by the post-install property lookup method. */
  fromPostInstall: boolean
}

/** Connector-level parameters first, then method-level ones, first of each name. */
function scoped(definition: ConnectorDefinition, scope: Parameter['scope']): Parameter[] {
  const seen = new Map<string, Parameter>()
  for (const p of [...(definition.parameters ?? []), ...(definition.methods ?? []).flatMap((m) => m.parameters ?? [])]) {
    if (p.scope === scope && !seen.has(p.name)) seen.set(p.name, p)
  }
  return [...seen.values()]
}

/** Names the post-install property lookup method sets (response fields and declared mappings). */
export function postInstallTargets(settings: ReleaseSettings, definition: ConnectorDefinition): Set<string> {
  const names = new Set<string>()
  const methodId = settings.postInstallPropertyLookupMethod
  if (!methodId) return names
  const accountNames = new Set(scoped(definition, 'account').map((p) => p.name))
  const method = definition.methods?.find((m) => m.id === methodId)
  for (const f of method?.response?.fields ?? []) if (accountNames.has(f.field)) names.add(f.field)
  for (const m of settings.postInstallPropertyMappings ?? []) names.add(m.property)
  return names
}

/** The account properties of a release: asked at install, or set by the post-install lookup. */
export function accountPropertySpecs(settings: ReleaseSettings, definition: ConnectorDefinition): PropertySpec[] {
  const fromPostInstall = postInstallTargets(settings, definition)
  return scoped(definition, 'account').map((p) => ({
    name: p.name,
    ...(p.displayName ? { displayName: p.displayName } : {}),
    ...(p.description ? { description: p.description } : {}),
    required: !p.optional && !p.hidden && p.value === undefined && p.default === undefined && !fromPostInstall.has(p.name),
    sensitive: p.sensitive ?? false,
    hidden: p.hidden ?? false,
    ...(p.lookup ? { lookup: p.lookup } : {}),
    fromPostInstall: fromPostInstall.has(p.name),
  }))
}

/** The partner properties of a release (set once per partner and connector), plus OAuth2 client credentials. */
export function partnerPropertySpecs(definition: ConnectorDefinition): Array<{ name: string; sensitive: boolean }> {
  const out = scoped(definition, 'partner').map((p) => ({ name: p.name, sensitive: p.sensitive ?? false }))
  if ((definition.authentications ?? []).some((a) => a.type === 'oauth2')) {
    if (!out.some((p) => p.name === 'ClientId')) out.push({ name: 'ClientId', sensitive: false })
    if (!out.some((p) => p.name === 'ClientSecret')) out.push({ name: 'ClientSecret', sensitive: true })
  }
  return out
}

/**
 * Problems with account property values: unknown names, and (when `complete`) missing required
 * ones. Paths under `properties`.
 */
export function checkProperties(specs: readonly PropertySpec[], given: Readonly<Record<string, string>>, complete: boolean): Problem[] {
  const out: Problem[] = []
  const byName = new Map(specs.map((s) => [s.name, s]))
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) {
      const known = specs.map((s) => s.name)
      out.push({ path: `properties.${name}`, message: `unknown account property${known.length ? `; this release has ${known.join(', ')}` : '; this release has none'}` })
    }
  }
  if (complete) for (const s of specs) if (s.required && !given[s.name]) out.push({ path: `properties.${s.name}`, message: 'is required' })
  return out
}

/** What a response shows of a secret: its last four characters when long enough to stay secret. */
export const maskHint = (value: string): string => (value.length >= 16 ? `****${value.slice(-4)}` : '****')

/** Hints of auth values (tokens excluded: their presence is shown separately). */
export function authHints(values: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => !isTokenKey(k) && v !== '').map(([k, v]) => [k, maskHint(v)]))
}

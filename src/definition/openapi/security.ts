// Security schemes → authentications. apiKey (header/query), http basic, http bearer (as an apiKey
// Authorization header), oauth2 flows; combined apiKey requirements become authFields.
import type { Authentication } from '../schema.js'
import { child, isObj, nonEmpty, pointer, str, type ImportContext, type Obj } from './context.js'
import { humanize, identifierSet, oneLine, pascalName, slugIdentifier, truncate } from './names.js'

type Grant = 'authorizationCode' | 'clientCredentials' | 'password'
type ApiKeyAuth = Extract<Authentication, { type: 'apiKey' }>
type OAuth2Auth = Extract<Authentication, { type: 'oauth2' }>
type AuthFieldsAuth = Extract<Authentication, { type: 'authFields' }>

const OAS3_FLOWS: Record<string, Grant | undefined> = {
  authorizationCode: 'authorizationCode',
  clientCredentials: 'clientCredentials',
  password: 'password',
  implicit: undefined,
}
const SWAGGER2_FLOWS: Record<string, Grant | undefined> = {
  accessCode: 'authorizationCode',
  application: 'clientCredentials',
  password: 'password',
  implicit: undefined,
}

/** Security requirement objects (`[{schemeA: [scopes]}, …]`) of the document and of every operation. */
export interface SecurityUse {
  topLevel: Obj[]
  /** Requirements of operations that override the top level. */
  operations: Obj[]
}

interface Mapped {
  scheme: string
  auths: Authentication[]
}

function schemeContainer(ctx: ImportContext): { schemes: Obj; at: string[] } {
  if (ctx.version === '2.0') return { schemes: isObj(ctx.doc.securityDefinitions) ? ctx.doc.securityDefinitions : {}, at: ['securityDefinitions'] }
  const components = isObj(ctx.doc.components) ? ctx.doc.components : {}
  return { schemes: isObj(components.securitySchemes) ? components.securitySchemes : {}, at: ['components', 'securitySchemes'] }
}

/** Scopes asked for a scheme across all requirements, in declaration order; all declared scopes when none are named. */
function scopesFor(scheme: string, declared: string[], use: SecurityUse): string[] | undefined {
  const named = new Set<string>()
  for (const req of [...use.topLevel, ...use.operations]) {
    const list = req[scheme]
    if (Array.isArray(list)) for (const s of list) if (typeof s === 'string') named.add(s)
  }
  const scopes = named.size > 0 ? [...declared.filter((s) => named.has(s)), ...[...named].filter((s) => !declared.includes(s))] : declared
  return scopes.length > 0 ? scopes : undefined
}

export function mapSecurity(ctx: ImportContext, use: SecurityUse): Authentication[] {
  const { schemes, at } = schemeContainer(ctx)
  const ids = identifierSet()
  const mapped: Mapped[] = []
  const base = (name: string, s: Obj, suffix?: string) => {
    const id = ids.claim(slugIdentifier(suffix ? `${name}-${suffix}` : name) || 'auth')
    const auth: { id: string; name: string; description?: string } = { id, name: truncate(humanize(name) + (suffix ? ` (${humanize(suffix).toLowerCase()})` : ''), 100) }
    const description = nonEmpty(s.description)
    if (description) auth.description = truncate(oneLine(description), 1000)
    return auth
  }

  for (const [name, raw] of Object.entries(schemes)) {
    const where = pointer(...at, name)
    if (!isObj(raw)) {
      ctx.skip(where, 'security scheme is not an object')
      continue
    }
    const s = raw
    const type = str(s.type)
    const auths: Authentication[] = []
    if (type === 'apiKey') {
      const keyName = nonEmpty(s.name)
      if (!keyName) ctx.skip(where, 'apiKey scheme without a "name"')
      else if (s.in === 'header') auths.push({ ...base(name, s), type: 'apiKey', in: 'header', header: keyName } satisfies ApiKeyAuth)
      else if (s.in === 'query') auths.push({ ...base(name, s), type: 'apiKey', in: 'query', query: keyName } satisfies ApiKeyAuth)
      else ctx.skip(where, `apiKey in ${JSON.stringify(s.in)} is not supported (only header or query)`)
    } else if (type === 'basic' && ctx.version === '2.0') {
      auths.push({ ...base(name, s), type: 'basic' })
    } else if (type === 'http') {
      const scheme = str(s.scheme)?.toLowerCase()
      if (scheme === 'basic') auths.push({ ...base(name, s), type: 'basic' })
      else if (scheme === 'bearer') {
        const auth: ApiKeyAuth = { ...base(name, s), type: 'apiKey', in: 'header', header: 'Authorization', value: 'Bearer {{ApiKey}}' }
        if (!auth.description && nonEmpty(s.bearerFormat)) auth.description = truncate(`Bearer token (${s.bearerFormat})`, 1000)
        auths.push(auth)
      } else ctx.skip(where, `HTTP authentication scheme ${JSON.stringify(s.scheme)} is not supported (only basic and bearer)`)
    } else if (type === 'oauth2') {
      const flows: Array<[string, Obj]> =
        ctx.version === '2.0' ? [[str(s.flow) ?? '', s]] : isObj(s.flows) ? Object.entries(s.flows).filter((e): e is [string, Obj] => isObj(e[1])) : []
      if (flows.length === 0) ctx.skip(where, 'oauth2 scheme without flows')
      const table = ctx.version === '2.0' ? SWAGGER2_FLOWS : OAS3_FLOWS
      const usable = flows.filter(([flow]) => table[flow] !== undefined)
      for (const [flow, f] of flows) {
        const flowAt = ctx.version === '2.0' ? where : child(where, 'flows', flow)
        const grant = table[flow]
        if (!grant) {
          ctx.skip(flowAt, flow === 'implicit' ? 'the oauth2 implicit flow is not supported (use authorization code)' : `unknown oauth2 flow ${JSON.stringify(flow)}`)
          continue
        }
        const tokenUrl = nonEmpty(f.tokenUrl)
        const authorizeUrl = nonEmpty(f.authorizationUrl)
        if (!tokenUrl) {
          ctx.skip(flowAt, `oauth2 ${flow} flow without a tokenUrl`)
          continue
        }
        if (grant === 'authorizationCode' && !authorizeUrl) {
          ctx.skip(flowAt, 'oauth2 authorization code flow without an authorizationUrl')
          continue
        }
        const declared = isObj(f.scopes) ? Object.keys(f.scopes) : []
        const auth: OAuth2Auth = { ...base(name, s, usable.length > 1 ? flow : undefined), type: 'oauth2', grant, tokenUrl }
        if (grant === 'authorizationCode') auth.authorizeUrl = authorizeUrl
        const refreshUrl = nonEmpty(f.refreshUrl)
        if (refreshUrl) auth.refreshUrl = refreshUrl
        const scopes = scopesFor(name, declared, use)
        if (scopes) auth.scopes = scopes
        for (const u of [tokenUrl, authorizeUrl, refreshUrl]) if (u && !/^https?:\/\//i.test(u)) ctx.warn(`OAuth2 URL "${u}" of scheme "${name}" is relative; make it absolute.`)
        auths.push(auth)
      }
    } else if (type === 'openIdConnect') {
      ctx.skip(where, `OpenID Connect is not supported: its discovery document (${str(s.openIdConnectUrl) ?? 'no URL'}) is never fetched; add an oauth2 authentication by hand`)
    } else if (type === 'mutualTLS') {
      ctx.skip(where, 'mutual TLS (client certificates) is not supported')
    } else {
      ctx.skip(where, `unknown security scheme type ${JSON.stringify(s.type)}`)
    }
    if (auths.length > 0) mapped.push({ scheme: name, auths })
  }

  // Requirements that need several schemes at once: only apiKey header/query ones can be combined.
  const combos: Array<{ names: string[]; auth: AuthFieldsAuth }> = []
  const seenCombos = new Set<string>()
  for (const req of [...use.topLevel, ...use.operations]) {
    const names = Object.keys(req)
    if (names.length < 2) continue
    const key = [...names].sort().join('\u0000')
    if (seenCombos.has(key)) continue
    seenCombos.add(key)
    const parts = names.map((n) => mapped.find((m) => m.scheme === n)?.auths[0])
    if (parts.every((a): a is ApiKeyAuth => a?.type === 'apiKey' && a.value === undefined)) {
      const fieldKeys = new Set<string>()
      const auth: AuthFieldsAuth = {
        id: ids.claim(slugIdentifier(names.join('-and-')) || 'auth'),
        name: truncate(names.map(humanize).join(' + '), 100),
        type: 'authFields',
        fields: parts.map((a, i) => {
          let k = pascalName(names[i])
          while (fieldKeys.has(k)) k = `${k}_`
          fieldKeys.add(k)
          return { key: k, label: humanize(names[i]), target: a.in, targetName: a.in === 'header' ? a.header! : a.query!, sensitive: true }
        }),
      }
      combos.push({ names, auth })
    } else {
      ctx.warn(`The security requirement combining ${names.map((n) => `"${n}"`).join(' and ')} cannot be expressed (only apiKey header/query schemes can be combined); the schemes were mapped separately.`)
    }
  }

  const auths: Authentication[] = [...mapped.flatMap((m) => m.auths), ...combos.map((c) => c.auth)]
  const optional = use.topLevel.some((r) => Object.keys(r).length === 0)
  if (auths.length === 0) {
    if (Object.keys(schemes).length > 0) ctx.warn('No security scheme could be mapped; the connector uses no authentication.')
    return [{ id: 'none', name: 'None', type: 'none', default: true }]
  }
  if (optional && !ids.has('none')) auths.push({ id: ids.claim('none'), name: 'None', type: 'none' })

  for (const req of use.topLevel) {
    const names = Object.keys(req)
    for (const n of names) if (!Object.prototype.hasOwnProperty.call(schemes, n)) ctx.warn(`The top-level security requirement names an undefined scheme "${n}".`)
  }
  // Default: the first top-level requirement that was mapped, else the first authentication.
  let chosen: Authentication | undefined
  for (const req of use.topLevel) {
    const names = Object.keys(req)
    if (names.length === 0) chosen = auths.find((a) => a.type === 'none')
    else if (names.length === 1) chosen = mapped.find((m) => m.scheme === names[0])?.auths[0]
    else chosen = combos.find((c) => c.names.length === names.length && c.names.every((n) => names.includes(n)))?.auth
    if (chosen) break
  }
  ;(chosen ?? auths[0]).default = true
  return auths
}

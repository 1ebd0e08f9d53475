// servers[0] (OpenAPI 3) or schemes/host/basePath (Swagger 2) → baseUrl; server variables become
// `{{Var}}` merge fields with account-scope connector parameters.
import type { Parameter } from '../schema.js'
import { isObj, nonEmpty, pointer, str, type ImportContext, type Obj } from './context.js'
import { humanize, oneLine, pascalName, systemNameSet, truncate } from './names.js'

export interface BaseUrl {
  baseUrl?: string
  parameters: Parameter[]
}

const trimSlash = (url: string) => (url.length > 1 ? url.replace(/\/+$/, '') : url)

export function mapServers(ctx: ImportContext): BaseUrl {
  const doc = ctx.doc
  if (ctx.version === '2.0') {
    const host = nonEmpty(doc.host)
    const basePath = nonEmpty(doc.basePath) ?? ''
    const schemes = Array.isArray(doc.schemes) ? doc.schemes.filter((s): s is string => typeof s === 'string') : []
    const scheme = schemes.includes('https') ? 'https' : (schemes[0] ?? 'https')
    if (!host) {
      ctx.warn('The document has no "host": the base URL is only the basePath; set the host by hand.')
      return { baseUrl: basePath ? trimSlash(basePath) : undefined, parameters: [] }
    }
    return { baseUrl: trimSlash(`${scheme}://${host}${basePath}`), parameters: [] }
  }
  const servers = Array.isArray(doc.servers) ? doc.servers.filter(isObj) : []
  if (servers.length === 0) {
    ctx.warn('The document declares no servers: set the base URL by hand.')
    return { parameters: [] }
  }
  if (servers.length > 1) ctx.warn(`The first of ${servers.length} servers was used (${servers.slice(1).map((s) => str(s.url)).filter(Boolean).join(', ')} ignored).`)
  return serverUrl(ctx, servers[0], pointer('servers', 0), true)
}

/** Converts one server object; with `asParameters` its variables become connector parameters, otherwise their defaults are substituted. */
export function serverUrl(ctx: ImportContext, server: Obj, at: string, asParameters: boolean): BaseUrl {
  const url = nonEmpty(server.url)
  if (!url) {
    ctx.skip(at, 'server without a url')
    return { parameters: [] }
  }
  const variables = isObj(server.variables) ? server.variables : {}
  const names = systemNameSet()
  const parameters: Parameter[] = []
  const byVar = new Map<string, string>()
  const converted = url.replace(/\{([^{}]+)\}/g, (_m, variable: string) => {
    const v = isObj(variables[variable]) ? (variables[variable] as Obj) : undefined
    const def = v && (typeof v.default === 'string' || typeof v.default === 'number') ? String(v.default) : undefined
    if (!asParameters) {
      if (def === undefined) ctx.warn(`Server variable "${variable}" of ${url} has no default.`)
      return def ?? `{${variable}}`
    }
    let name = byVar.get(variable)
    if (!name) {
      name = names.claim(pascalName(variable))
      byVar.set(variable, name)
      const p: Parameter = { name, displayName: truncate(humanize(variable), 200), target: 'mergeField', scope: 'account' }
      if (name !== variable) p.targetName = variable
      const enumValues = v && Array.isArray(v.enum) ? v.enum.map(String) : []
      const description = [nonEmpty(v?.description), enumValues.length > 0 ? `One of: ${enumValues.join(', ')}.` : undefined].filter(Boolean).join(' ')
      if (description) p.description = truncate(oneLine(description), 1000)
      if (def !== undefined) p.default = def
      else ctx.warn(`Server variable "${variable}" has no default value.`)
      parameters.push(p)
    }
    return `{{${name}}}`
  })
  if (asParameters && converted.startsWith('/')) ctx.warn(`The server URL "${url}" is relative; make the base URL absolute.`)
  return { baseUrl: trimSlash(converted), parameters }
}

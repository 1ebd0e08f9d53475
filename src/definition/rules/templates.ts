// Every `{{Variable}}` must resolve at run time, so an unknown one is a push error (STYLE §2.8).
// What a template may use depends on where it is:
//   connector level (baseUrl, authentication templates): connector parameters, auth, built-ins;
//   connector parameter values: the above + paging variables;
//   method level (path, headers, parameter values): the above + the method's parameters and request fields.
import { at, type Problem } from '../problems.js'
import { suggest } from '../suggest.js'
import { AUTH_VARIABLES, BUILT_IN_VARIABLES, PAGING_VARIABLES, isBuiltInVariable, isIgnoreParameterValue, isPagingVariable, scanTemplate } from '../variables.js'
import { items, record, str, type Item, type MethodItem, type ReleaseView, type Rule } from './context.js'

interface Scope {
  names: Set<string>
  paging: boolean
  /** How the scope is described in messages. */
  description: string
}

interface Place {
  text: unknown
  path: string
}

export const templateRules: Rule = (view) => {
  const connector = connectorScope(view)
  const withPaging: Scope = { ...connector, paging: true, description: 'connector parameters, auth, paging and built-in variables' }
  return [
    ...check([{ text: view.definition.baseUrl, path: '/definition/baseUrl' }, ...authPlaces(view)], connector),
    ...check(view.parameters.map(valuePlace), withPaging),
    ...view.methods.flatMap((m) => check(methodPlaces(m), methodScope(connector, m))),
  ]
}

function methodScope(connector: Scope, m: MethodItem): Scope {
  const own = [...m.parameters.map((p) => p.value.name), ...m.requestFields.map((f) => f.value.field)].filter((n): n is string => typeof n === 'string')
  return { names: new Set([...connector.names, ...own]), paging: true, description: 'parameters, request fields, auth, paging and built-in variables' }
}

function methodPlaces(m: MethodItem): Place[] {
  const http = record(m.value.http)
  const headers = Object.entries(record(http?.headers) ?? {}).map(([k, v]) => ({ text: v, path: at(m.path, 'http', 'headers', k) }))
  return [{ text: http?.path, path: at(m.path, 'http', 'path') }, ...headers, ...m.parameters.map(valuePlace)]
}

function connectorScope(view: ReleaseView): Scope {
  const authFieldKeys = view.authentications.flatMap((a) => (a.value.type === 'authFields' ? items<{ key?: unknown }>(a.value.fields, '').map((f) => f.value.key) : []))
  const parameterNames = view.parameters.map((p) => p.value.name)
  const names = [...Object.keys(AUTH_VARIABLES), ...Object.keys(BUILT_IN_VARIABLES), ...authFieldKeys, ...parameterNames].filter((n): n is string => typeof n === 'string')
  return { names: new Set(names), paging: false, description: 'connector parameters, auth and built-in variables' }
}

/** Authentication templates: the apiKey value, OAuth2 URLs (`https://{{Subdomain}}…`) and extra parameters. */
function authPlaces(view: ReleaseView): Place[] {
  return view.authentications.flatMap(({ value: a, path }) => {
    if (a.type === 'apiKey') return [{ text: a.value, path: at(path, 'value') }]
    if (a.type !== 'oauth2') return []
    const extras = (['extraAuthorizeParams', 'extraTokenParams'] as const).flatMap((k) => Object.entries(record(a[k]) ?? {}).map(([name, v]) => ({ text: v, path: at(path, k, name) })))
    return [...(['authorizeUrl', 'tokenUrl', 'refreshUrl'] as const).map((k) => ({ text: a[k], path: at(path, k) })), ...extras]
  })
}

const valuePlace = ({ value, path }: Item<{ value?: unknown }>): Place => ({ text: value.value, path: at(path, 'value') })

function check(places: Place[], scope: Scope): Problem[] {
  return places.flatMap(({ text, path }) => {
    const template = str(text)
    // IGNORE_PARAMETER is a marker, not a variable; parameters.ts checks where it may appear.
    if (template === undefined || isIgnoreParameterValue(template)) return []
    const scan = scanTemplate(template)
    const out: Problem[] = scan.errors.map((e) => ({ path, message: e.message }))
    for (const token of scan.tokens) {
      if (token.format !== undefined && !(isBuiltInVariable(token.name) && BUILT_IN_VARIABLES[token.name].acceptsFormat)) {
        out.push({ path, message: `${token.raw}: only LastSuccessfulRunDate accepts format=` })
      } else if (!scope.names.has(token.name) && !(scope.paging && isPagingVariable(token.name))) {
        const known = [...scope.names, ...(scope.paging ? Object.keys(PAGING_VARIABLES) : [])]
        const hint = isPagingVariable(token.name) ? ' (paging variables belong in parameter values and method paths)' : suggest(token.name, known, (s) => `{{${s}}}`)
        out.push({ path, message: `unknown variable {{${token.name}}}: not one of the ${scope.description}${hint}` })
      }
    }
    return out
  })
}

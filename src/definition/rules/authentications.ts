// Authentications: unique ids, one default, and the settings each type needs.
import { at, type Problem } from '../problems.js'
import { duplicates, items, type Item, type Rule } from './context.js'
import type { Authentication } from '../schema.js'

export const authenticationRules: Rule = (view) => [
  ...duplicates(view.authentications, (a) => a.id, 'id', 'authentication id'),
  ...defaults(view.authentications),
  ...view.authentications.flatMap(byType),
]

/** With several authentications at most one is marked default; none marked means the first one. */
function defaults(auths: Item<Authentication>[]): Problem[] {
  const marked = auths.filter((a) => a.value.default === true)
  return marked.slice(1).map((a) => ({
    path: at(a.path, 'default'),
    message: `only one authentication may be the default ("${marked[0].value.id}" already is)`,
  }))
}

function byType({ value: auth, path }: Item<Authentication>): Problem[] {
  switch (auth.type) {
    case 'apiKey':
      if (auth.in === 'header' && !auth.header) return [{ path: at(path, 'header'), message: 'required when in is header (the header that carries the key)' }]
      if (auth.in === 'query' && !auth.query) return [{ path: at(path, 'query'), message: 'required when in is query (the query parameter that carries the key)' }]
      return []
    case 'oauth2':
      return auth.grant === 'authorizationCode' && !auth.authorizeUrl ? [{ path: at(path, 'authorizeUrl'), message: 'required for the authorizationCode grant' }] : []
    case 'authFields':
      return duplicates(items<{ key?: unknown }>(auth.fields, at(path, 'fields')), (f) => f.key, 'key', 'auth field key')
    default:
      return []
  }
}

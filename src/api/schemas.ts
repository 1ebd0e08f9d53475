// Shared API schemas (TypeBox): request/response shapes for the routes and the OpenAPI document.
import { Type } from 'typebox'
import { ReleaseSettings } from '../definition/schema.js'

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
})

export const IdParams = (...names: string[]) => Type.Object(Object.fromEntries(names.map((n) => [n, Type.String({ minLength: 1, maxLength: 100 })])))

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    after: Type.Optional(Type.String({ description: 'Cursor: the nextCursor of the previous page.' })),
  },
  { additionalProperties: false },
)

export const Plan = Type.Object(
  {
    allowCustomConnectors: Type.Optional(Type.Boolean()),
    maxCustomConnectors: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  },
  { additionalProperties: false },
)

export const Partner = Type.Object({
  id: Type.String(),
  name: Type.String(),
  plan: Type.Object({ allowCustomConnectors: Type.Boolean(), maxCustomConnectors: Type.Union([Type.Integer(), Type.Null()]) }),
  enableBetaConnectors: Type.Boolean(),
  createdAt: Type.String(),
  oauthReturnUrl: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Where the OAuth2 callback sends the browser back to, with `status`, `accountId` and `accountConnectorId` added to its query.' })),
})

export const OAuthReturnUrl = Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 2000 }), Type.Null()], { description: 'An absolute http(s) URL; null clears it.' }))

export const Connector = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  apiVersion: Type.Union([Type.String(), Type.Null()]),
  hasIcon: Type.Boolean(),
  builtIn: Type.Boolean({ description: 'A connector of the built-in public library (read-only).' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
})

const ReleaseFields = {
  id: Type.String(),
  connectorId: Type.String(),
  state: Type.Union([Type.Literal('draft'), Type.Literal('live'), Type.Literal('deprecated')]),
  version: Type.Union([Type.String({ examples: ['1.2'] }), Type.Null()]),
  settings: ReleaseSettings,
  hasIcon: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  pushedAt: Type.Union([Type.String(), Type.Null()]),
  deprecatedAt: Type.Union([Type.String(), Type.Null()]),
}

export const ReleaseSummary = Type.Object(ReleaseFields)
export const Release = Type.Object({ ...ReleaseFields, definition: Type.Record(Type.String(), Type.Unknown()) })

export const Problem = Type.Object({ path: Type.String(), message: Type.String() })

// Account connectors: install a connector into an account, authenticate it (values, OAuth2),
// post-install results, data on demand (method calls with paging) and lookups (SPEC §5, §8).
// Credentials are write-only: every response shows masked hints only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { AccountConnectorService, AccountConnectorView } from '../../services/account-connectors.js'
import { principal } from '../plugins/auth.js'
import { IdParams, PageQuery } from '../schemas.js'
import { Nullable } from './accounts.js'

const Values = (description: string) => Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 10_000 }), { description })
const AuthValues = Values('Auth values for the chosen authentication: ApiKey (apiKey); Username, Password (basic); the field keys (authFields); optional ClientId, ClientSecret (oauth2, per-account app credentials), or existing AccessToken, RefreshToken, ExpiresAt. Write-only.')
const Properties = Values('Account property values (account-scope connector parameters) by name.')

const Step = Type.Object({
  method: Type.String(),
  ok: Type.Boolean(),
  status: Type.Optional(Type.Integer()),
  message: Type.Optional(Type.String()),
  set: Type.Optional(Type.Array(Type.String(), { description: 'Properties set from the response.' })),
})

const AuthFailure = Type.Object({
  stage: Type.String({ description: 'testAuth, propertyLookup, authorization, tokenExchange, tokenRefresh or credentials' }),
  status: Type.Optional(Type.Integer({ description: "The API's status, when it answered." })),
  message: Type.String(),
  at: Type.String(),
})

export const AccountConnector = Type.Object({
  id: Type.String(),
  accountId: Type.String(),
  connectorId: Type.String(),
  releaseId: Type.String({ description: 'The release the account connector is pinned to (the live one at install).' }),
  name: Nullable(Type.String()),
  authId: Nullable(Type.String()),
  authType: Type.String(),
  authenticated: Type.Boolean(),
  authError: Nullable(AuthFailure),
  authenticatedAt: Nullable(Type.String()),
  auth: Type.Record(Type.String(), Type.String(), { description: 'Masked hints of the auth values, e.g. `****a1b2`; never the values.' }),
  oauth: Type.Optional(Type.Object({ hasAccessToken: Type.Boolean(), hasRefreshToken: Type.Boolean(), tokenExpiresAt: Nullable(Type.String()) })),
  properties: Type.Record(Type.String(), Type.String(), { description: 'Property values; sensitive ones masked.' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  postInstall: Type.Optional(
    Type.Object({
      testAuth: Type.Optional(Step),
      propertyLookup: Type.Optional(Step),
      warnings: Type.Optional(Type.Array(Type.String())),
    }),
  ),
})

const ErrorInfo = Type.Object({ kind: Type.String(), status: Type.Optional(Type.Integer()), message: Type.String() })
const Warning = Type.Object({ code: Type.String(), message: Type.String() })

/** Outcome lines for the log: ids and the auth state, never a value. */
const logOutcome = (req: FastifyRequest, what: string, v: AccountConnectorView) =>
  req.log.info({ accountConnectorId: v.id, accountId: v.accountId, authType: v.authType, authenticated: v.authenticated, authError: v.authError ? { stage: v.authError.stage, status: v.authError.status } : undefined }, what)

export const accountConnectorRoutes: FastifyPluginAsyncTypebox<{ accountConnectors: AccountConnectorService }> = async (app, { accountConnectors: svc }) => {
  const tags = ['account connectors']
  const aParams = IdParams('aid')
  const params = IdParams('aid', 'acid')

  app.post('/', {
    schema: {
      tags,
      summary: "Install a connector into the account (pinned to the connector's live release), then run its post-install methods",
      params: aParams,
      body: Type.Object(
        {
          connectorId: Type.String({ minLength: 1, maxLength: 100 }),
          name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
          authId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "One of the release's authentications; the default one when omitted." })),
          auth: Type.Optional(AuthValues),
          properties: Type.Optional(Properties),
        },
        { additionalProperties: false },
      ),
      response: { 201: AccountConnector },
    },
  }, async (req, reply) => {
    const v = await svc.install(principal(req), req.params.aid, req.body)
    logOutcome(req, 'account connector installed', v)
    return reply.status(201).send(v)
  })

  app.get('/', {
    schema: {
      tags,
      params: aParams,
      querystring: Type.Object({ ...PageQuery.properties, connectorId: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(AccountConnector), nextCursor: Nullable(Type.String()) }) },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const items = await svc.list(principal(req).partnerId, req.params.aid, { limit, after: req.query.after, connectorId: req.query.connectorId })
    return { items, nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })

  app.get('/:acid', { schema: { tags, params, response: { 200: AccountConnector } } }, async (req) => svc.get(principal(req).partnerId, req.params.aid, req.params.acid))

  app.patch('/:acid', {
    schema: {
      tags,
      summary: 'Change the name or property values (an empty value removes an optional property)',
      params,
      body: Type.Object({ name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))), properties: Type.Optional(Properties) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: AccountConnector },
    },
  }, async (req) => svc.update(principal(req), req.params.aid, req.params.acid, req.body))

  app.delete('/:acid', { schema: { tags, params } }, async (req, reply) => {
    await svc.delete(principal(req), req.params.aid, req.params.acid)
    return reply.status(204).send()
  })

  app.put('/:acid/auth', {
    schema: {
      tags,
      summary: 'Replace the credentials (and optionally the authentication and properties); re-runs test-auth and the property lookup',
      params,
      body: Type.Object({ authId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), auth: Type.Optional(AuthValues), properties: Type.Optional(Properties) }, { additionalProperties: false }),
      response: { 200: AccountConnector },
    },
  }, async (req) => {
    const v = await svc.setAuth(principal(req), req.params.aid, req.params.acid, req.body)
    logOutcome(req, 'account connector credentials replaced', v)
    return v
  })

  app.post('/:acid/test-auth', {
    schema: { tags, summary: "Run the release's post-install test-auth method again", params, response: { 200: AccountConnector } },
  }, async (req) => {
    const v = await svc.testAuth(principal(req), req.params.aid, req.params.acid)
    logOutcome(req, 'account connector auth tested', v)
    return v
  })

  app.post('/:acid/deauthenticate', {
    schema: { tags, summary: 'Clear the credentials; the account connector becomes unauthenticated', params, response: { 200: AccountConnector } },
  }, async (req) => {
    const v = await svc.deauthenticate(principal(req), req.params.aid, req.params.acid)
    logOutcome(req, 'account connector deauthenticated', v)
    return v
  })

  app.get('/:acid/oauth/start', {
    schema: {
      tags,
      summary: "The provider's authorize URL to send the user's browser to (OAuth2 authorization code)",
      description: 'The URL carries a signed, single-use `state` that expires after 10 minutes (and a PKCE challenge when the authentication asks for it). The provider redirects to `GET /v1/oauth/callback`, which finishes the authorization and redirects to the partner `oauthReturnUrl`.',
      params,
      response: { 200: Type.Object({ authorizeUrl: Type.String(), state: Type.String(), redirectUri: Type.String(), expiresAt: Type.String() }) },
    },
  }, async (req) => svc.oauthStart(principal(req), req.params.aid, req.params.acid, { origin: `${req.protocol}://${req.host}` }))

  app.post('/:acid/methods/:mid/call', {
    schema: {
      tags,
      summary: "Call a method with the account connector's credentials (data on demand), one or more pages at a time",
      params: IdParams('aid', 'acid', 'mid'),
      body: Type.Object(
        {
          parameters: Type.Optional(Values('Method parameter values by name.')),
          fields: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Request field values by system name.' })),
          pages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Upstream pages to read in this call (default 1).' })),
          cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000, description: 'The nextCursor of the previous call: reading goes on from there.' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          records: Type.Array(Type.Record(Type.String(), Type.Unknown())),
          pages: Type.Integer(),
          nextCursor: Nullable(Type.String({ description: 'Opaque; pass it back as `cursor` for the next pages.' })),
          warnings: Type.Array(Warning),
          requests: Type.Array(Type.Object({ purpose: Type.String(), method: Type.String(), url: Type.String({ description: 'Redacted.' }), status: Type.Optional(Type.Integer()), durationMs: Type.Number() })),
          error: Type.Optional(ErrorInfo),
        }),
      },
    },
  }, async (req) => {
    const { aid, acid, mid } = req.params
    const result = await svc.call(principal(req), aid, acid, mid, req.body ?? {})
    if (result.error?.kind === 'auth') req.log.warn({ accountConnectorId: acid, error: result.error.message }, 'account connector token refresh failed; it is now unauthenticated')
    return result
  })

  app.get('/:acid/lookups/:name', {
    schema: {
      tags,
      summary: 'Value/label pairs of a lookup (pick list), searchable and paged',
      params: IdParams('aid', 'acid', 'name'),
      querystring: Type.Object(
        {
          search: Type.Optional(Type.String({ maxLength: 200, description: "Sent to the API when the lookup declares a searchParameter; otherwise matched against labels and values." })),
          limit: PageQuery.properties.limit,
          cursor: Type.Optional(Type.String({ maxLength: 20, description: 'The nextCursor of the previous page.' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          items: Type.Array(Type.Object({ value: Type.String(), label: Type.String() })),
          nextCursor: Nullable(Type.String()),
          warnings: Type.Array(Warning),
          error: Type.Optional(ErrorInfo),
        }),
      },
    },
  }, async (req) => {
    const { aid, acid, name } = req.params
    return svc.lookup(principal(req), aid, acid, name, { search: req.query.search, limit: req.query.limit ?? 100, cursor: req.query.cursor })
  })
}

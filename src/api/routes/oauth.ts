// GET /v1/oauth/callback: where OAuth2 providers send the user's browser back. It is not
// authenticated by an API key: the signed, single-use `state` names the account connector.
// Its request log lines are suppressed (route logLevel) so the authorization code never reaches
// a log; outcomes are logged without it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { AccountConnectorService } from '../../services/account-connectors.js'

export const oauthCallbackRoutes: FastifyPluginAsyncTypebox<{ accountConnectors: AccountConnectorService }> = async (app, { accountConnectors }) => {
  app.get('/callback', {
    logLevel: 'warn',
    schema: {
      tags: ['account connectors'],
      summary: 'OAuth2 redirect URI: validates the state, exchanges the code, runs post-install, redirects to the partner oauthReturnUrl',
      description:
        'Needs no API key. Answers 302 to the partner `oauthReturnUrl` with `status` (success|error), `accountId`, `accountConnectorId` and, on failure, `error`; without a return URL, the same as JSON. A missing, altered, expired or replayed state is a 400 OAUTH_STATE_INVALID.',
      security: [],
      querystring: Type.Object(
        {
          state: Type.Optional(Type.String({ maxLength: 2000 })),
          code: Type.Optional(Type.String({ maxLength: 4000 })),
          error: Type.Optional(Type.String({ maxLength: 500 })),
          error_description: Type.Optional(Type.String({ maxLength: 2000 })),
        },
        { additionalProperties: true },
      ),
    },
  }, async (req, reply) => {
    reply.header('cache-control', 'no-store')
    const result = await accountConnectors.oauthCallback(req.query)
    if (result.status === 'error') req.log.warn({ accountConnectorId: result.accountConnectorId, error: result.error }, 'OAuth2 authorization failed')
    if (result.redirect) return reply.redirect(result.redirect, 302)
    const { redirect: _r, partnerId: _p, ...body } = result
    return body
  })
}

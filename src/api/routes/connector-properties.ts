// Partner properties of a connector: values of its partner-scope parameters and the OAuth2 app
// credentials (ClientId, ClientSecret) used by every account of the partner unless an account
// connector overrides them. Sensitive values are encrypted at rest and shown masked.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { AccountConnectorService } from '../../services/account-connectors.js'
import { principal } from '../plugins/auth.js'
import { IdParams } from '../schemas.js'
import { Nullable } from './accounts.js'

const View = Type.Object({
  connectorId: Type.String(),
  properties: Type.Record(Type.String(), Type.String(), { description: 'Values; sensitive ones masked.' }),
  available: Type.Array(Type.Object({ name: Type.String(), sensitive: Type.Boolean() }), { description: 'The partner properties of the live release.' }),
  updatedAt: Nullable(Type.String()),
})

export const connectorPropertyRoutes: FastifyPluginAsyncTypebox<{ accountConnectors: AccountConnectorService }> = async (app, { accountConnectors }) => {
  const tags = ['connectors']
  const params = IdParams('cid')

  app.get('/', { schema: { tags, summary: "The partner's property values for this connector", params, response: { 200: View } } }, async (req) =>
    accountConnectors.getPartnerProperties(principal(req).partnerId, req.params.cid),
  )

  app.put('/', {
    schema: {
      tags,
      summary: 'Set partner property values (an empty value removes one); e.g. the OAuth2 ClientId and ClientSecret',
      params,
      body: Type.Object({ properties: Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 10_000 })) }, { additionalProperties: false }),
      response: { 200: View },
    },
  }, async (req) => {
    const v = await accountConnectors.setPartnerProperties(principal(req), req.params.cid, req.body.properties)
    req.log.info({ connectorId: req.params.cid, names: Object.keys(req.body.properties) }, 'partner connector properties set')
    return v
  })
}

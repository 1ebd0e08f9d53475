// Admin: create partners and set their plans. Partner self-service: own settings and API keys.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { PartnerService } from '../../services/partners.js'
import { principal, requireAdmin, requirePartner } from '../plugins/auth.js'
import { IdParams, OAuthReturnUrl, Partner, Plan } from '../schemas.js'

export const adminPartnerRoutes: FastifyPluginAsyncTypebox<{ partners: PartnerService }> = async (app, { partners }) => {
  requireAdmin(app, partners)
  const tags = ['admin']

  app.post('/', {
    schema: {
      tags,
      summary: 'Create a partner; the API key is returned once',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), plan: Type.Optional(Plan), enableBetaConnectors: Type.Optional(Type.Boolean()), oauthReturnUrl: OAuthReturnUrl }, { additionalProperties: false }),
      response: { 201: Type.Object({ ...Partner.properties, apiKey: Type.String(), keyId: Type.String() }) },
    },
  }, async (req, reply) => {
    const { partner, apiKey, keyId } = await partners.create(req.body)
    return reply.status(201).send({ ...partner, apiKey, keyId })
  })

  app.get('/', { schema: { tags, response: { 200: Type.Object({ items: Type.Array(Partner) }) } } }, async () => ({ items: await partners.list() }))

  app.get('/:pid', { schema: { tags, params: IdParams('pid'), response: { 200: Partner } } }, async (req) => partners.get(req.params.pid))

  app.patch('/:pid', {
    schema: {
      tags,
      summary: "Change a partner's name or price plan",
      params: IdParams('pid'),
      body: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), plan: Type.Optional(Plan), enableBetaConnectors: Type.Optional(Type.Boolean()), oauthReturnUrl: OAuthReturnUrl }, { additionalProperties: false }),
      response: { 200: Partner },
    },
  }, async (req) => partners.update(req.params.pid, req.body))
}

export const selfPartnerRoutes: FastifyPluginAsyncTypebox<{ partners: PartnerService }> = async (app, { partners }) => {
  requirePartner(app, partners)
  const tags = ['partner']
  const Key = Type.Object({ id: Type.String(), prefix: Type.String(), createdAt: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]) })

  app.get('/', { schema: { tags, summary: 'The partner of this API key', response: { 200: Partner } } }, async (req) => partners.get(principal(req).partnerId))

  app.patch('/', {
    schema: { tags, body: Type.Object({ enableBetaConnectors: Type.Optional(Type.Boolean()), oauthReturnUrl: OAuthReturnUrl }, { additionalProperties: false }), response: { 200: Partner } },
  }, async (req) => partners.update(principal(req).partnerId, req.body))

  app.get('/keys', { schema: { tags, response: { 200: Type.Object({ items: Type.Array(Key) }) } } }, async (req) => ({ items: await partners.listKeys(principal(req).partnerId) }))

  app.post('/keys', { schema: { tags, summary: 'Create another API key (shown once)', response: { 201: Type.Object({ id: Type.String(), apiKey: Type.String() }) } } }, async (req, reply) => {
    const { apiKey, keyId } = await partners.createKey(principal(req).partnerId)
    return reply.status(201).send({ id: keyId, apiKey })
  })

  app.delete('/keys/:kid', { schema: { tags, summary: 'Revoke an API key', params: IdParams('kid') } }, async (req, reply) => {
    const p = principal(req)
    await partners.revokeKey(p.partnerId, req.params.kid, p.keyId)
    return reply.status(204).send()
  })
}

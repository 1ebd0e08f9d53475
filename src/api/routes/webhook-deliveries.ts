// Webhook deliveries as partners see them (SPEC §6): per cycle, and per connector (every cycle's,
// plus the unmatched ones of a singular partner URL), newest first.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { notFound } from '../../errors/errors.js'
import type { WebhookService } from '../../services/webhooks.js'
import type { Store } from '../../store/store.js'
import { principal } from '../plugins/auth.js'
import { IdParams } from '../schemas.js'

const Query = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    after: Type.Optional(Type.String({ description: 'Cursor: the nextCursor of the previous page (pages go from newest to oldest).' })),
  },
  { additionalProperties: false },
)
const Status = Type.Union([Type.Literal('accepted'), Type.Literal('ignored'), Type.Literal('unmatched')])

export const webhookDeliveryRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookService; store: Store }> = async (app, { webhooks, store }) => {
  const tags = ['webhooks']
  app.get('/accounts/:aid/cycles/:yid/webhook-deliveries', { schema: { tags, summary: "A cycle's webhook deliveries, newest first", params: IdParams('aid', 'yid'), querystring: Query } }, async (req) => {
    const { partnerId } = principal(req)
    const cycle = await store.cycles.get(partnerId, req.params.yid)
    if (!cycle || cycle.accountId !== req.params.aid) throw notFound('cycle', req.params.yid)
    const limit = req.query.limit ?? 100
    const items = await webhooks.listForCycle(partnerId, cycle.id, { limit, before: req.query.after })
    return { items, nextCursor: items.length === limit ? items[items.length - 1]!.id : null }
  })

  app.get('/connectors/:cid/webhook-deliveries', {
    schema: { tags, summary: "A connector's webhook deliveries (all cycles, and unmatched ones), newest first", params: IdParams('cid'), querystring: Type.Object({ ...Query.properties, status: Type.Optional(Status) }, { additionalProperties: false }) },
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const items = await webhooks.listForConnector(principal(req).partnerId, req.params.cid, { limit, before: req.query.after, status: req.query.status })
    return { items, nextCursor: items.length === limit ? items[items.length - 1]!.id : null }
  })
}

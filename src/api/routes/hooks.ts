// Webhook deliveries from third parties (SPEC §6). No API key: the unguessable URL is the
// credential. Bodies are kept raw (a Buffer) so what is stored is exactly what was sent.
import type { FastifyPluginAsync } from 'fastify'
import { WEBHOOK_MEDIA_TYPES, type WebhookService } from '../../services/webhooks.js'

export const hookRoutes: FastifyPluginAsync<{ webhooks: WebhookService; bodyLimitBytes?: number }> = async (app, { webhooks, bodyLimitBytes }) => {
  // Encapsulated: these parsers apply to /hooks only. A type with no parser is a 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser([...WEBHOOK_MEDIA_TYPES], { parseAs: 'buffer', ...(bodyLimitBytes ? { bodyLimit: bodyLimitBytes } : {}) }, (_req, body, done) => done(null, body))

  app.post<{ Params: { pid: string; cid: string } }>('/partners/:pid/connectors/:cid', {
    schema: { hide: true },
    config: { consumes: [...WEBHOOK_MEDIA_TYPES] },
    ...(bodyLimitBytes ? { bodyLimit: bodyLimitBytes } : {}),
  }, async (req, reply) => {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const outcome = await webhooks.receivePartner(req.params.pid, req.params.cid, { contentType, body, headers: req.headers })
    // before_webhook answered the caller itself (e.g. a subscription handshake).
    if (outcome.reply) return reply.status(outcome.reply.status).headers(outcome.reply.headers).send(outcome.reply.body ?? '')
    return reply.status(outcome.duplicate ? 200 : 202).send(outcome)
  })

  app.post<{ Params: { webhookId: string } }>('/:webhookId', {
    schema: { hide: true },
    config: { consumes: [...WEBHOOK_MEDIA_TYPES] },
    ...(bodyLimitBytes ? { bodyLimit: bodyLimitBytes } : {}),
  }, async (req, reply) => {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const outcome = await webhooks.receive(req.params.webhookId, { contentType, body, headers: req.headers })
    // before_webhook answered the caller itself (e.g. a subscription handshake).
    if (outcome.reply) return reply.status(outcome.reply.status).headers(outcome.reply.headers).send(outcome.reply.body ?? '')
    return reply.status(202).send(outcome)
  })
}

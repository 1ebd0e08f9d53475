// Templates: integration definitions whose steps are pinned to connector releases.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { TemplateInput } from '../../engine/templates/template-schema.js'
import type { TemplateService } from '../../services/templates.js'
import { principal } from '../plugins/auth.js'
import { IdParams, PageQuery } from '../schemas.js'

export const templateRoutes: FastifyPluginAsyncTypebox<{ templates: TemplateService }> = async (app, { templates }) => {
  const tags = ['templates']
  const params = IdParams('tid')

  app.post('/', {
    schema: { tags, summary: 'Create a template; every problem is reported at once (422)', body: TemplateInput },
  }, async (req, reply) => reply.status(201).send(await templates.save(principal(req), req.body)))

  app.get('/', {
    schema: { tags, querystring: Type.Object({ ...PageQuery.properties, name: Type.Optional(Type.String()) }, { additionalProperties: false }) },
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const items = (await templates.list(principal(req).partnerId, { limit, after: req.query.after, name: req.query.name })).map(({ partnerId: _p, ...t }) => t)
    return { items, nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })

  app.get('/:tid', { schema: { tags, params } }, async (req) => templates.get(principal(req).partnerId, req.params.tid))

  app.put('/:tid', { schema: { tags, summary: 'Replace a template (steps keep their ids by key)', params, body: TemplateInput } }, async (req) =>
    templates.save(principal(req), req.body, req.params.tid),
  )

  app.delete('/:tid', { schema: { tags, params } }, async (req, reply) => {
    await templates.delete(principal(req).partnerId, req.params.tid)
    return reply.status(204).send()
  })
}

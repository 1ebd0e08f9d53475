// Connectors: own + built-in library; settings, icon and history.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ConnectorService } from '../../services/connectors.js'
import type { Connector as ConnectorRow } from '../../store/repositories/connectors.js'
import { principal } from '../plugins/auth.js'
import { Connector, IdParams, PageQuery } from '../schemas.js'

const ConnectorBody = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
  apiVersion: Type.Optional(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
}

const toView = ({ partnerId: _p, ...c }: ConnectorRow) => c

export const connectorRoutes: FastifyPluginAsyncTypebox<{ connectors: ConnectorService }> = async (app, { connectors }) => {
  const tags = ['connectors']
  const params = IdParams('cid')

  app.get('/', {
    schema: {
      tags,
      summary: "The partner's connectors and the built-in library",
      querystring: Type.Object({ ...PageQuery.properties, name: Type.Optional(Type.String()) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(Connector), nextCursor: Type.Union([Type.String(), Type.Null()]) }) },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const items = await connectors.list(principal(req).partnerId, { limit, after: req.query.after, name: req.query.name })
    return { items: items.map(toView), nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })

  app.post('/', {
    schema: { tags, body: Type.Object(ConnectorBody, { additionalProperties: false }), response: { 201: Connector } },
  }, async (req, reply) => reply.status(201).send(toView(await connectors.create(principal(req), req.body))))

  app.get('/:cid', { schema: { tags, params, response: { 200: Connector } } }, async (req) => toView(await connectors.get(principal(req).partnerId, req.params.cid)))

  app.patch('/:cid', {
    schema: {
      tags,
      params,
      body: Type.Object({ name: Type.Optional(ConnectorBody.name), description: ConnectorBody.description, apiVersion: ConnectorBody.apiVersion }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: Connector },
    },
  }, async (req) => toView(await connectors.update(principal(req), req.params.cid, req.body)))

  app.delete('/:cid', { schema: { tags, params } }, async (req, reply) => {
    await connectors.delete(principal(req), req.params.cid)
    return reply.status(204).send()
  })

  app.put('/:cid/icon', {
    bodyLimit: 2 * 1024 * 1024,
    config: { consumes: ['image/png'] },
    schema: { tags, summary: 'Upload the icon: a 400x400 PNG of at most 1 MB', params, consumes: ['image/png'] },
  }, async (req, reply) => {
    await connectors.putIcon(principal(req), req.params.cid, req.body as Buffer)
    return reply.status(204).send()
  })

  app.get('/:cid/icon', { schema: { tags, params, produces: ['image/png'] } }, async (req, reply) => {
    const data = await connectors.getIcon(principal(req).partnerId, req.params.cid)
    return reply.type('image/png').header('cache-control', 'private, max-age=60').send(data)
  })

  app.get('/:cid/history', {
    schema: {
      tags,
      summary: 'Every lifecycle change of the connector, oldest first',
      params,
      querystring: PageQuery,
      response: {
        200: Type.Object({
          items: Type.Array(Type.Object({ id: Type.String(), releaseId: Type.Union([Type.String(), Type.Null()]), event: Type.String(), version: Type.Union([Type.String(), Type.Null()]), actor: Type.String(), at: Type.String(), details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]) })),
          nextCursor: Type.Union([Type.String(), Type.Null()]),
        }),
      },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const items = await connectors.history(principal(req).partnerId, req.params.cid, { limit, after: req.query.after })
    return { items, nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })
}

// Accounts: a partner's customers (SPEC §1, §8). Paged list with name/externalId filters.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type TSchema } from 'typebox'
import type { AccountService } from '../../services/accounts.js'
import type { Account as AccountRow } from '../../store/repositories/accounts.js'
import { principal } from '../plugins/auth.js'
import { IdParams, PageQuery } from '../schemas.js'

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

export const Account = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  externalId: Nullable(Type.String({ description: "The partner's own id for this customer; unique per partner." })),
  timezone: Type.String({ description: 'IANA time zone name.', examples: ['Europe/London'] }),
  parentId: Nullable(Type.String({ description: 'The parent account of a sub-account.' })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
})

const Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  externalId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200, description: "The partner's own id for the customer (unique per partner)." }))),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'IANA time zone name (default UTC).', examples: ['Europe/London'] })),
  parentId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100, description: 'An account of the same partner: makes this a sub-account.' }))),
}

const toView = ({ partnerId: _p, ...a }: AccountRow) => a

export const accountRoutes: FastifyPluginAsyncTypebox<{ accounts: AccountService }> = async (app, { accounts }) => {
  const tags = ['accounts']
  const params = IdParams('aid')

  app.post('/', {
    schema: { tags, summary: 'Create an account', body: Type.Object(Fields, { additionalProperties: false }), response: { 201: Account } },
  }, async (req, reply) => reply.status(201).send(toView(await accounts.create(principal(req), req.body))))

  app.get('/', {
    schema: {
      tags,
      summary: "The partner's accounts, oldest first",
      querystring: Type.Object(
        {
          ...PageQuery.properties,
          name: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive part of the name.' })),
          externalId: Type.Optional(Type.String({ maxLength: 200, description: 'Exact externalId.' })),
          parentId: Type.Optional(Type.String({ maxLength: 100, description: 'Only the sub-accounts of this account.' })),
        },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ items: Type.Array(Account), nextCursor: Nullable(Type.String()) }) },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const { after, name, externalId, parentId } = req.query
    const items = await accounts.list(principal(req).partnerId, { limit, after, name, externalId, parentId })
    return { items: items.map(toView), nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })

  app.get('/:aid', { schema: { tags, params, response: { 200: Account } } }, async (req) => toView(await accounts.get(principal(req).partnerId, req.params.aid)))

  app.patch('/:aid', {
    schema: {
      tags,
      params,
      body: Type.Object({ ...Fields, name: Type.Optional(Fields.name) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: Account },
    },
  }, async (req) => toView(await accounts.update(principal(req), req.params.aid, req.body)))

  app.delete('/:aid', { schema: { tags, summary: 'Delete an account and its account connectors (refused while it has sub-accounts)', params } }, async (req, reply) => {
    await accounts.delete(principal(req), req.params.aid)
    return reply.status(204).send()
  })
}

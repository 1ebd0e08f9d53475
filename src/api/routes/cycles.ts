// Cycles: templates installed in accounts; activation, runs, transactions and incidents.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { CycleService } from '../../services/cycles.js'
import type { Store } from '../../store/store.js'
import { notFound } from '../../errors/errors.js'
import { principal } from '../plugins/auth.js'
import { IdParams, PageQuery } from '../schemas.js'

const UserValue = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])

export const templateInstallRoutes: FastifyPluginAsyncTypebox<{ cycles: CycleService }> = async (app, { cycles }) => {
  app.post('/:tid/install', {
    schema: {
      tags: ['cycles'],
      summary: 'Install a template into an account: a paused cycle with the same release pins',
      params: IdParams('tid'),
      body: Type.Object(
        {
          accountId: Type.String({ minLength: 1 }),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          accountConnectors: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'connectorId → account connector id to use' })),
          values: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), UserValue), { description: 'stepKey → user-configurable values' })),
        },
        { additionalProperties: false },
      ),
    },
  }, async (req, reply) => reply.status(201).send(await cycles.install(principal(req), req.params.tid, req.body)))
}

export const cycleRoutes: FastifyPluginAsyncTypebox<{ cycles: CycleService; store: Store }> = async (app, { cycles, store }) => {
  const tags = ['cycles']
  const aParams = IdParams('aid')
  const params = IdParams('aid', 'yid')

  app.get('/', {
    schema: { tags, params: aParams, querystring: Type.Object({ ...PageQuery.properties, status: Type.Optional(Type.Union([Type.Literal('paused'), Type.Literal('active'), Type.Literal('error')])) }, { additionalProperties: false }) },
  }, async (req) => {
    const limit = req.query.limit ?? 100
    const items = await cycles.list(principal(req).partnerId, req.params.aid, { limit, after: req.query.after, status: req.query.status })
    return { items, nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })

  app.get('/:yid', { schema: { tags, params } }, async (req) => cycles.get(principal(req).partnerId, req.params.aid, req.params.yid))

  app.get('/:yid/prerequisites', { schema: { tags, params } }, async (req) => ({ items: (await cycles.get(principal(req).partnerId, req.params.aid, req.params.yid)).prerequisites }))

  app.patch('/:yid/steps/:key', {
    schema: {
      tags,
      summary: "Set a step's user-configurable values or its account connector",
      params: IdParams('aid', 'yid', 'key'),
      body: Type.Object({ values: Type.Optional(Type.Record(Type.String(), UserValue)), accountConnectorId: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false, minProperties: 1 }),
    },
  }, async (req) => cycles.updateStep(principal(req), req.params.aid, req.params.yid, req.params.key, req.body))

  app.put('/:yid/activate', {
    schema: {
      tags,
      summary: 'Activate: an interval (minutes), a start time, or run once; refused (409) while prerequisites remain',
      params,
      body: Type.Object({ interval: Type.Optional(Type.Integer()), startTime: Type.Optional(Type.String()), runOnce: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    },
  }, async (req) => cycles.activate(principal(req), req.params.aid, req.params.yid, req.body ?? {}))

  app.put('/:yid/deactivate', {
    schema: { tags, params, body: Type.Optional(Type.Object({ finishQueued: Type.Optional(Type.Boolean({ description: 'let queued transactions finish (default: drop them)' })) }, { additionalProperties: false })) },
  }, async (req) => cycles.deactivate(principal(req), req.params.aid, req.params.yid, req.body ?? {}))

  app.post('/:yid/run', { schema: { tags, summary: 'Fire the trigger now', params } }, async (req, reply) => {
    await cycles.runNow(principal(req), req.params.aid, req.params.yid)
    return reply.status(202).send({ queued: true })
  })

  app.delete('/:yid', { schema: { tags, params } }, async (req, reply) => {
    await cycles.delete(principal(req), req.params.aid, req.params.yid)
    return reply.status(204).send()
  })

  app.get('/:yid/transactions', {
    schema: {
      tags,
      params,
      querystring: Type.Object({ ...PageQuery.properties, status: Type.Optional(Type.Union(['queued', 'running', 'waiting', 'succeeded', 'failed', 'stopped'].map((s) => Type.Literal(s)))) }, { additionalProperties: false }),
    },
  }, async (req) => {
    await cycles.get(principal(req).partnerId, req.params.aid, req.params.yid)
    const limit = req.query.limit ?? 100
    let q = store.db.selectFrom('transactions').select(['id', 'status', 'trigger_data', 'error', 'created_at', 'started_at', 'finished_at']).where('cycle_id', '=', req.params.yid)
    if (req.query.after) q = q.where('id', '>', req.query.after)
    if (req.query.status) q = q.where('status', '=', req.query.status as never)
    const rows = await q.orderBy('id').limit(limit).execute()
    const items = rows.map((r) => ({ id: r.id, status: r.status, trigger: JSON.parse(r.trigger_data), error: r.error, createdAt: r.created_at, startedAt: r.started_at, finishedAt: r.finished_at }))
    return { items, nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })

  app.get('/:yid/transactions/:txid', { schema: { tags, params: IdParams('aid', 'yid', 'txid') } }, async (req) => {
    await cycles.get(principal(req).partnerId, req.params.aid, req.params.yid)
    const r = await store.db.selectFrom('transactions').selectAll().where('id', '=', req.params.txid).where('cycle_id', '=', req.params.yid).executeTakeFirst()
    if (!r) throw notFound('transaction', req.params.txid)
    const steps = await store.db.selectFrom('step_runs').selectAll().where('transaction_id', '=', r.id).orderBy('id').execute()
    return {
      id: r.id,
      status: r.status,
      trigger: JSON.parse(r.trigger_data),
      outputs: JSON.parse(r.state).outputs,
      error: r.error,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      steps: steps.map((s) => ({ id: s.id, stepKey: s.step_key, status: s.status, attempt: s.attempt, error: s.error, startedAt: s.started_at, durationMs: s.duration_ms, log: s.log ? JSON.parse(s.log) : null })),
    }
  })

  app.get('/:yid/incidents', {
    schema: { tags, params, querystring: Type.Object({ ...PageQuery.properties, transactionId: Type.Optional(Type.String()) }, { additionalProperties: false }) },
  }, async (req) => {
    await cycles.get(principal(req).partnerId, req.params.aid, req.params.yid)
    const limit = req.query.limit ?? 100
    let q = store.db.selectFrom('incidents').selectAll().where('cycle_id', '=', req.params.yid)
    if (req.query.after) q = q.where('id', '>', req.query.after)
    if (req.query.transactionId) q = q.where('transaction_id', '=', req.query.transactionId)
    const rows = await q.orderBy('id').limit(limit).execute()
    const items = rows.map((r) => ({ id: r.id, level: r.level, message: r.message, detail: r.detail, transactionId: r.transaction_id, stepKey: r.step_key, at: r.at }))
    return { items, nextCursor: items.length === limit ? items[items.length - 1].id : null }
  })
}

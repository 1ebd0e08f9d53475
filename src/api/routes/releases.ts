// Releases: drafts, push, lint, diff, export, icon (SPEC §1 lifecycle, §8 API).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { stringify as toYaml } from 'yaml'
import { parseDefinitionText } from '../../definition/parse.js'
import { fail } from '../../errors/errors.js'
import type { ReleaseService } from '../../services/releases.js'
import { principal } from '../plugins/auth.js'
import { YAML_TYPES } from '../plugins/content-type.js'
import { IdParams, Problem, Release, ReleaseSummary } from '../schemas.js'
import { viewRelease } from '../../services/releases.js'

const AnyObject = Type.Record(Type.String(), Type.Unknown())
const Definition = Type.Record(Type.String(), Type.Unknown(), { description: 'A connector definition: see GET /v1/schemas/connector-definition.json' })

const view = <T extends { version: { major: number; minor: number } | null; partnerId?: string | null }>({ partnerId: _p, ...r }: T) => viewRelease(r)

// Deprecation sunset (issue 8 §6): every release view carries its sunset date and warning.
const Nullable = <T extends import('typebox').TSchema>(t: T) => Type.Union([t, Type.Null()])
const SunsetFields = {
  sunsetAt: Nullable(Type.String({ description: 'deprecated releases only: after this date new installs pinned to the release are refused (409 RELEASE_SUNSET)' })),
  sunsetWarning: Nullable(Type.String({ description: 'set when the sunset date is 30 days away or closer, and after it' })),
}
const UsageCounts = Type.Object({
  accounts: Type.Integer(),
  accountConnectors: Type.Integer(),
  cycles: Type.Integer(),
  cycleSteps: Type.Integer(),
  templates: Type.Integer(),
  templateSteps: Type.Integer(),
})
const ReleaseOut = Type.Object({ ...Release.properties, ...SunsetFields })
const ReleaseListItem = Type.Object({ ...ReleaseSummary.properties, ...SunsetFields, usage: Type.Optional(UsageCounts) })
const ReleaseUsage = Type.Object({
  release: Type.Object({ id: Type.String(), connectorId: Type.String(), state: Type.String(), version: Nullable(Type.String()) }),
  sunset: Type.Object({ sunsetAt: Nullable(Type.String()), daysLeft: Nullable(Type.Integer()), passed: Type.Boolean(), warning: Nullable(Type.String()) }),
  summary: UsageCounts,
  accounts: Type.Array(Type.Object({ accountId: Type.String(), name: Nullable(Type.String()), externalId: Nullable(Type.String()), accountConnectors: Type.Integer(), cycles: Type.Integer(), cycleSteps: Type.Integer() })),
  cycles: Type.Array(Type.Object({ id: Type.String(), accountId: Type.String(), name: Type.String(), status: Type.String(), steps: Type.Integer() })),
})

/** A YAML/JSON document body: `{settings?, definition?}` (the export format; other keys ignored). */
function documentBody(body: unknown): { settings?: unknown; definition?: unknown } {
  let doc: unknown
  try {
    doc = parseDefinitionText(String(body), 'yaml')
  } catch (err) {
    throw fail('BAD_REQUEST', `the document is not valid YAML/JSON: ${(err as Error).message}`)
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw fail('BAD_REQUEST', 'the document must be a mapping with `settings` and/or `definition`')
  const { settings, definition } = doc as Record<string, unknown>
  if (settings === undefined && definition === undefined) throw fail('BAD_REQUEST', 'the document has neither `settings` nor `definition`')
  return { settings, definition }
}

/** YAML/JSON documents are turned into the JSON body shape before validation. */
async function yamlToDocument(req: { body: unknown }): Promise<void> {
  if (typeof req.body === 'string') req.body = documentBody(req.body)
}

export const releaseRoutes: FastifyPluginAsyncTypebox<{ releases: ReleaseService }> = async (app, { releases }) => {
  const tags = ['releases']
  const cParams = IdParams('cid')
  const rParams = IdParams('cid', 'rid')
  const consumesDocs = { consumes: ['application/json', ...YAML_TYPES] }

  app.get('/', {
    schema: {
      tags,
      params: cParams,
      querystring: Type.Object({ usage: Type.Optional(Type.Boolean({ description: "add each release's `usage`: the partner's accounts, account connectors, cycles and steps still pinned to it" })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(ReleaseListItem) }) },
    },
  }, async (req) => {
    const partnerId = principal(req).partnerId
    const list = await releases.list(partnerId, req.params.cid)
    const usage = req.query.usage ? await releases.usageCounts(partnerId, req.params.cid, list.map((r) => r.id)) : undefined
    return { items: list.map((r) => ({ ...view(r), ...releases.sunsetFields(r), ...(usage ? { usage: usage.get(r.id) } : {}) })) }
  })

  app.post('/', {
    config: consumesDocs,
    schema: {
      tags,
      summary: 'Create the draft: empty, a copy of `live` or another release, from a definition, or from an OpenAPI document',
      description: 'JSON body `{from?, settings?, definition?, openapi?}`, or a YAML/JSON document `{settings, definition}` with Content-Type application/yaml.',
      params: cParams,
      body: Type.Object(
          {
            from: Type.Optional(Type.String({ minLength: 1, description: '`live` or a release id to copy' })),
            settings: Type.Optional(AnyObject),
            definition: Type.Optional(Definition),
            openapi: Type.Optional(Type.Union([Type.String({ minLength: 1 }), AnyObject], { description: 'An OpenAPI 3.x or Swagger 2.0 document (object, or JSON/YAML text)' })),
          },
          { additionalProperties: false },
        ),
      response: { 201: Type.Object({ ...Release.properties, importReport: Type.Optional(Type.Unknown()) }) },
    },
    preValidation: yamlToDocument,
  }, async (req, reply) => {
    const actor = principal(req)
    const body = req.body
    if ('openapi' in body && body.openapi !== undefined) {
      if ('definition' in body && body.definition !== undefined) throw fail('BAD_REQUEST', 'give either `definition` or `openapi`, not both')
      const { importOpenApi } = await import('../../definition/openapi-import.js')
      let imported
      try {
        imported = await importOpenApi(typeof body.openapi === 'string' ? body.openapi : JSON.stringify(body.openapi))
      } catch (err) {
        throw fail('BAD_REQUEST', `openapi: ${(err as Error).message}`)
      }
      const settings = { ...imported.settings, ...((body as { settings?: object }).settings ?? {}) }
      const r = await releases.createDraft(actor, req.params.cid, { settings, definition: imported.definition }, 'openapi import')
      return reply.status(201).send({ ...view(r), importReport: imported.report })
    }
    const r = await releases.createDraft(actor, req.params.cid, body)
    return reply.status(201).send(view(r))
  })

  app.get('/:rid', { schema: { tags, params: rParams, response: { 200: ReleaseOut } } }, async (req) => {
    const r = await releases.get(principal(req).partnerId, req.params.cid, req.params.rid)
    return { ...view(r), ...releases.sunsetFields(r) }
  })

  app.put('/:rid', {
    config: consumesDocs,
    schema: {
      tags,
      summary: 'Replace the settings and/or definition of the draft',
      params: rParams,
      body: Type.Object({ settings: Type.Optional(AnyObject), definition: Type.Optional(Definition) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: Release },
    },
    preValidation: yamlToDocument,
  }, async (req) => view(await releases.updateDraft(principal(req), req.params.cid, req.params.rid, req.body)))

  app.delete('/:rid', { schema: { tags, params: rParams } }, async (req, reply) => {
    await releases.deleteDraft(principal(req), req.params.cid, req.params.rid)
    return reply.status(204).send()
  })

  app.post('/:rid/push', {
    schema: {
      tags,
      summary: 'Push the draft live as a major or minor release',
      params: rParams,
      body: Type.Object({ kind: Type.Union([Type.Literal('major'), Type.Literal('minor')]), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 200: Release },
    },
  }, async (req) => view(await releases.push(principal(req), req.params.cid, req.params.rid, req.body)))

  app.put('/:rid/sunset', {
    schema: {
      tags,
      summary: 'Set (or clear, with null) the sunset date of a deprecated release: after it, new installs pinned to it are refused',
      params: rParams,
      body: Type.Object({ sunsetAt: Nullable(Type.String({ minLength: 1, description: 'ISO 8601 date (2027-01-31, midnight UTC) or date-time with a zone; must be in the future' })) }, { additionalProperties: false }),
      response: { 200: ReleaseOut },
    },
  }, async (req) => {
    const r = await releases.setSunset(principal(req), req.params.cid, req.params.rid, req.body.sunsetAt)
    return { ...view(r), ...releases.sunsetFields(r) }
  })

  app.get('/:rid/usage', {
    schema: { tags, summary: "Who is still on the release: the partner's accounts (account connectors, cycles, cycle steps) and templates pinned to it", params: rParams, response: { 200: ReleaseUsage } },
  }, async (req) => releases.usage(principal(req).partnerId, req.params.cid, req.params.rid))

  app.get('/:rid/lint', {
    schema: {
      tags,
      params: rParams,
      response: { 200: Type.Object({ errors: Type.Array(Type.Object({ ...Problem.properties, code: Type.Optional(Type.String()) })), warnings: Type.Array(Type.Object({ ...Problem.properties, code: Type.Optional(Type.String()) })) }) },
    },
  }, async (req) => releases.lint(principal(req).partnerId, req.params.cid, req.params.rid))

  app.get('/:rid/diff', {
    schema: {
      tags,
      summary: 'Changes against the live release or another release, each classified breaking or additive',
      params: rParams,
      querystring: Type.Object({ against: Type.Optional(Type.String({ minLength: 1, default: 'live' })) }, { additionalProperties: false }),
    },
  }, async (req) => releases.diff(principal(req).partnerId, req.params.cid, req.params.rid, req.query.against))

  app.get('/:rid/export', {
    schema: { tags, params: rParams, querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('yaml')])) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    const doc = await releases.export(principal(req).partnerId, req.params.cid, req.params.rid)
    if (req.query.format === 'yaml') return reply.type('application/yaml').send(toYaml(doc))
    return doc
  })

  app.put('/:rid/icon', {
    bodyLimit: 2 * 1024 * 1024,
    config: { consumes: ['image/png'] },
    schema: { tags, summary: "Override the connector icon for this release (draft only)", params: rParams, consumes: ['image/png'] },
  }, async (req, reply) => {
    await releases.putIcon(principal(req), req.params.cid, req.params.rid, req.body as Buffer)
    return reply.status(204).send()
  })

  app.get('/:rid/icon', { schema: { tags, params: rParams, produces: ['image/png'] } }, async (req, reply) => {
    return reply.type('image/png').send(await releases.getIcon(principal(req).partnerId, req.params.cid, req.params.rid))
  })
}

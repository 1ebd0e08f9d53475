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
    schema: { tags, params: cParams, response: { 200: Type.Object({ items: Type.Array(ReleaseSummary) }) } },
  }, async (req) => ({ items: (await releases.list(principal(req).partnerId, req.params.cid)).map(view) }))

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

  app.get('/:rid', { schema: { tags, params: rParams, response: { 200: Release } } }, async (req) => view(await releases.get(principal(req).partnerId, req.params.cid, req.params.rid)))

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

// Body parsers for the media types Plexus accepts, and a per-route allow-list (route
// `config.consumes`, default JSON) so a body of the wrong type is a 415, not a confusing 400.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { fail } from '../../errors/errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    consumes?: string[]
  }
}

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml']

export const contentTypePlugin = fp(async (app: FastifyInstance) => {
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('image/png', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body))
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined) return
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    const allowed = req.routeOptions.config.consumes ?? ['application/json']
    if (!allowed.includes(type)) {
      throw fail('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${type || '(none)'} is not accepted here; use ${allowed.join(' or ')}`)
    }
  })
})

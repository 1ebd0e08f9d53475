// One error shape for everything: {error: {code, message, details?}}.
import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { PlexusError } from '../../errors/errors.js'
import { describeValidationErrors } from '../validation.js'

const frameworkErrors: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'INVALID_JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'INVALID_JSON'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST'],
}

export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof PlexusError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } })
    }
    if (err.validation) {
      const details = describeValidationErrors(err.validation, err.validationContext ?? 'body')
      return reply.status(400).send({ error: { code: 'BAD_REQUEST', message: details.map((d) => `${d.path}: ${d.message}`).join('; '), details } })
    }
    const mapped = err.code ? frameworkErrors[err.code] : undefined
    if (mapped) {
      const message = mapped[1] === 'INVALID_JSON' ? `the body is not valid JSON: ${err.message}` : err.message
      return reply.status(mapped[0]).send({ error: { code: mapped[1], message } })
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: { code: 'BAD_REQUEST', message: err.message } })
    }
    req.log.error({ err }, 'unhandled error')
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } })
  })

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } })
  })
})

// Bearer authentication. Partner routes need a partner API key; admin routes the admin token.
// The principal is attached to the request; every service call is scoped by its partnerId.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { fail } from '../../errors/errors.js'
import type { PartnerService, Principal } from '../../services/partners.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (!h) return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h)
  return m?.[1]
}

export function requirePartner(app: FastifyInstance, partners: PartnerService): void {
  app.addHook('onRequest', async (req) => {
    const token = bearerToken(req)
    if (!token) throw fail('UNAUTHORIZED', 'missing API key: send Authorization: Bearer <key>')
    const principal = await partners.authenticate(token)
    if (!principal) throw fail('UNAUTHORIZED', 'invalid or revoked API key')
    req.principal = principal
  })
}

export function requireAdmin(app: FastifyInstance, partners: PartnerService): void {
  app.addHook('onRequest', async (req) => {
    const token = bearerToken(req)
    if (!token || !partners.isAdminToken(token)) throw fail('UNAUTHORIZED', 'this route needs the admin token (PLEXUS_ADMIN_TOKEN)')
  })
}

/** The authenticated principal; routes in a requirePartner scope always have one. */
export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw fail('UNAUTHORIZED', 'not authenticated')
  return req.principal
}

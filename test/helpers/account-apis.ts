// Local third-party APIs for account connector tests: a SaaS API with API key / basic / auth-field
// credentials, a session token handed out by a property-lookup endpoint and a project pick list,
// and an OAuth2 authorization server (authorization code + PKCE, rotating refresh tokens) with a
// bearer-protected API. Each records what it received.
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { startServer, type TestServer } from './http-server.js'

const json = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

export const CONTACTS = Array.from({ length: 5 }, (_, i) => ({ id: `c${i + 1}`, email: `person${i + 1}@example.com` }))
export const PROJECTS = [
  { id: 'p1', name: 'Apollo' },
  { id: 'p2', name: 'Gemini' },
  { id: 'p3', name: 'Mercury' },
  { id: 'p4', name: 'Artemis' },
]

export interface SaasApi extends TestServer {
  /** The session token /account hands out; /contacts needs it in X-Session. */
  sessionToken: string
  /** bodies POSTed to /contacts */
  created: unknown[]
}

/**
 * `accepts(req)` decides whether the credentials are good (401 otherwise).
 * GET /me → the user; GET /account → `{tenant: {id, region}, session: {token}}`;
 * GET /contacts?page=&per_page= → `{data}` (needs X-Session and X-Tenant);
 * GET /projects?q= → `{projects: [{id, name}]}`; POST /contacts → `{id}` (kept in `created`).
 */
export function saasApi(accepts: (req: IncomingMessage) => boolean, port = 0): Promise<SaasApi> {
  const sessionToken = `sess_${randomBytes(12).toString('hex')}`
  const created: unknown[] = []
  return startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x')
    // Like some real APIs, the error echoes what was sent: Plexus must redact it.
    if (!accepts(req)) return json(res, { error: 'invalid credentials', received: req.headers['x-api-key'] ?? null }, 401)
    switch (url.pathname) {
      case '/me':
        return json(res, { id: 'user-1', name: 'Ada' })
      case '/account':
        return json(res, { tenant: { id: 'tenant-42', region: 'eu' }, session: { token: sessionToken } })
      case '/contacts': {
        if (req.headers['x-session'] !== sessionToken) return json(res, { error: 'no session' }, 403)
        if (req.headers['x-tenant'] !== 'tenant-42') return json(res, { error: 'no tenant' }, 400)
        if (req.method === 'POST') {
          created.push(JSON.parse(body || '{}'))
          return json(res, { id: `ct_${created.length}` }, 201)
        }
        const page = Number(url.searchParams.get('page') ?? 1)
        const size = Number(url.searchParams.get('per_page') ?? 2)
        return json(res, { data: CONTACTS.slice((page - 1) * size, page * size) })
      }
      case '/projects': {
        const q = url.searchParams.get('q')?.toLowerCase()
        return json(res, { projects: q ? PROJECTS.filter((p) => p.name.toLowerCase().includes(q)) : PROJECTS })
      }
      default:
        return json(res, { error: 'not found' }, 404)
    }
  }, '127.0.0.1', port).then((s) => Object.assign(s, { sessionToken, created }))
}

export interface OAuthClient {
  id: string
  secret: string
}

export interface OAuthProvider extends TestServer {
  /** Parsed form bodies of POST /token. */
  tokenRequests: Array<Record<string, string>>
  /** Query of every GET /authorize. */
  authorizeRequests: URLSearchParams[]
  /** Tokens issued so far (access, refresh), newest last. */
  issued: Array<{ access: string; refresh: string; client: string }>
  /** Acts as the user's browser with a consenting (or refusing) user: the redirect it is sent to. */
  authorize(url: string, opts?: { deny?: boolean }): Promise<URL>
  revokeAccessTokens(): void
  revokeRefreshTokens(): void
}

const b64url = (b: Buffer) => b.toString('base64url')

/**
 * An OAuth2 authorization server and API. GET /authorize (redirects with a code; needs PKCE
 * S256 when `requirePkce`), POST /token (authorization_code, refresh_token with rotation; client
 * credentials in the body or Basic), GET /api/me and GET /api/contacts?page=&per_page= (bearer).
 */
export function oauthProvider(opts: { clients: OAuthClient[]; expiresIn?: number; requirePkce?: boolean; port?: number }): Promise<OAuthProvider> {
  const tokenRequests: Array<Record<string, string>> = []
  const authorizeRequests: URLSearchParams[] = []
  const issued: Array<{ access: string; refresh: string; client: string }> = []
  const codes = new Map<string, { client: string; redirectUri: string; challenge?: string }>()
  const access = new Set<string>()
  const refresh = new Map<string, string>() // token → client
  const issue = (res: ServerResponse, client: string) => {
    const t = { access: `at_${b64url(randomBytes(16))}`, refresh: `rt_${b64url(randomBytes(16))}`, client }
    issued.push(t)
    access.add(t.access)
    refresh.set(t.refresh, client)
    json(res, { access_token: t.access, token_type: 'Bearer', expires_in: opts.expiresIn ?? 3600, refresh_token: t.refresh, scope: 'read write' })
  }
  return startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/authorize') {
      const q = url.searchParams
      authorizeRequests.push(q)
      const client = opts.clients.find((c) => c.id === q.get('client_id'))
      const redirect = q.get('redirect_uri')
      if (!client || !redirect || q.get('response_type') !== 'code') return json(res, { error: 'invalid_request' }, 400)
      const back = new URL(redirect)
      back.searchParams.set('state', q.get('state') ?? '')
      if (q.get('deny') === '1') {
        back.searchParams.set('error', 'access_denied')
        back.searchParams.set('error_description', 'The user said no')
      } else {
        if (opts.requirePkce && (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge'))) return json(res, { error: 'invalid_request', error_description: 'PKCE required' }, 400)
        const code = `code_${b64url(randomBytes(12))}`
        codes.set(code, { client: client.id, redirectUri: redirect, challenge: q.get('code_challenge') ?? undefined })
        back.searchParams.set('code', code)
      }
      res.writeHead(302, { location: back.href })
      return res.end()
    }
    if (url.pathname === '/token') {
      const form = Object.fromEntries(new URLSearchParams(body))
      tokenRequests.push(form)
      let id = form.client_id
      let secret = form.client_secret
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')
      if (basic) [id, secret] = Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent) as [string, string]
      const client = opts.clients.find((c) => c.id === id && c.secret === secret)
      if (!client) return json(res, { error: 'invalid_client', error_description: 'bad client credentials' }, 401)
      if (form.grant_type === 'authorization_code') {
        const grant = codes.get(form.code ?? '')
        codes.delete(form.code ?? '') // single use
        if (!grant || grant.client !== client.id || grant.redirectUri !== form.redirect_uri) return json(res, { error: 'invalid_grant', error_description: 'bad code' }, 400)
        if (grant.challenge && b64url(createHash('sha256').update(form.code_verifier ?? '').digest()) !== grant.challenge) {
          return json(res, { error: 'invalid_grant', error_description: 'PKCE verification failed' }, 400)
        }
        return issue(res, client.id)
      }
      if (form.grant_type === 'refresh_token') {
        const owner = refresh.get(form.refresh_token ?? '')
        if (owner !== client.id) return json(res, { error: 'invalid_grant', error_description: 'refresh token revoked or unknown' }, 400)
        refresh.delete(form.refresh_token!) // rotation
        return issue(res, client.id)
      }
      return json(res, { error: 'unsupported_grant_type' }, 400)
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (!token || !access.has(token)) return json(res, { error: 'invalid_token' }, 401, { 'www-authenticate': 'Bearer error="invalid_token"' })
    if (url.pathname === '/api/me') return json(res, { id: 'user-9', tenant: 'tenant-oauth' })
    if (url.pathname === '/api/contacts') {
      const page = Number(url.searchParams.get('page') ?? 1)
      const size = Number(url.searchParams.get('per_page') ?? 2)
      return json(res, { data: CONTACTS.slice((page - 1) * size, page * size) })
    }
    return json(res, { error: 'not found' }, 404)
  }, '127.0.0.1', opts.port ?? 0).then((s) =>
    Object.assign(s, {
      tokenRequests,
      authorizeRequests,
      issued,
      async authorize(authorizeUrl: string, o: { deny?: boolean } = {}) {
        const u = new URL(authorizeUrl)
        if (o.deny) u.searchParams.set('deny', '1')
        const r = await fetch(u, { redirect: 'manual' })
        const location = r.headers.get('location')
        if (r.status !== 302 || !location) throw new Error(`authorize answered ${r.status}: ${await r.text()}`)
        return new URL(location)
      },
      revokeAccessTokens: () => access.clear(),
      revokeRefreshTokens: () => refresh.clear(),
    }),
  )
}

/** A clock tests move by hand. */
export class TestClock {
  #now: number
  constructor(start = Date.now()) {
    this.#now = start
  }
  now(): Date {
    return new Date(this.#now)
  }
  advance(ms: number): void {
    this.#now += ms
  }
}

// Partners and their API keys. Keys are random (32 bytes) and stored only as a SHA-256 hash:
// a fast hash is right for high-entropy keys (no dictionary to attack), and it keeps auth cheap.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { fail, notFound } from '../errors/errors.js'
import type { Clock } from '../shared/clock.js'
import { newId } from '../shared/ids.js'
import type { Partner } from '../store/repositories/partners.js'
import type { Store } from '../store/store.js'

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex')

export interface Principal {
  partnerId: string
  keyId: string
}

export interface PlanInput {
  allowCustomConnectors?: boolean
  maxCustomConnectors?: number | null
}

/**
 * Authenticated keys are remembered for a few seconds: authentication is on every request and the
 * key lookup is its largest cost. A revoke clears the entry at once in this process; other
 * processes (PostgreSQL scale-out) stop accepting the key within AUTH_CACHE_TTL_MS.
 */
export const AUTH_CACHE_TTL_MS = 5000
const AUTH_CACHE_MAX = 10_000

export class PartnerService {
  readonly #authCache = new Map<string, { principal: Principal; until: number }>()

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly adminToken: string,
  ) {}

  isAdminToken(token: string): boolean {
    const a = Buffer.from(hashKey(token))
    const b = Buffer.from(hashKey(this.adminToken))
    return timingSafeEqual(a, b)
  }

  async create(input: { name: string; plan?: PlanInput; enableBetaConnectors?: boolean; oauthReturnUrl?: string | null }): Promise<{ partner: Partner; apiKey: string; keyId: string }> {
    if (input.oauthReturnUrl) assertReturnUrl(input.oauthReturnUrl)
    const partner: Partner = {
      id: newId('ptr'),
      name: input.name,
      plan: { allowCustomConnectors: input.plan?.allowCustomConnectors ?? true, maxCustomConnectors: input.plan?.maxCustomConnectors ?? null },
      enableBetaConnectors: input.enableBetaConnectors ?? false,
      createdAt: this.clock.now().toISOString(),
      oauthReturnUrl: input.oauthReturnUrl ?? null,
    }
    await this.store.partners.insert(partner)
    const { apiKey, keyId } = await this.createKey(partner.id)
    return { partner, apiKey, keyId }
  }

  async createKey(partnerId: string): Promise<{ apiKey: string; keyId: string }> {
    const apiKey = 'plx_' + randomBytes(32).toString('base64url')
    const keyId = newId('key')
    await this.store.apiKeys.insert({ id: keyId, partnerId, hash: hashKey(apiKey), prefix: apiKey.slice(0, 10), createdAt: this.clock.now().toISOString(), revokedAt: null })
    return { apiKey, keyId }
  }

  async authenticate(apiKey: string): Promise<Principal | undefined> {
    if (!apiKey.startsWith('plx_')) return undefined
    const hash = hashKey(apiKey)
    const now = Date.now()
    const cached = this.#authCache.get(hash)
    if (cached && cached.until > now) return cached.principal
    const found = await this.store.apiKeys.findActiveByHash(hash)
    if (!found) {
      this.#authCache.delete(hash)
      return undefined
    }
    const principal = { partnerId: found.partnerId, keyId: found.keyId }
    if (this.#authCache.size >= AUTH_CACHE_MAX) this.#authCache.clear()
    this.#authCache.set(hash, { principal, until: now + AUTH_CACHE_TTL_MS })
    return principal
  }

  async get(partnerId: string): Promise<Partner> {
    const p = await this.store.partners.get(partnerId)
    if (!p) throw notFound('partner', partnerId)
    return p
  }

  list(): Promise<Partner[]> {
    return this.store.partners.list()
  }

  async update(partnerId: string, patch: { name?: string; enableBetaConnectors?: boolean; plan?: PlanInput; oauthReturnUrl?: string | null }): Promise<Partner> {
    if (patch.oauthReturnUrl) assertReturnUrl(patch.oauthReturnUrl)
    await this.get(partnerId)
    await this.store.partners.update(partnerId, patch)
    return this.get(partnerId)
  }

  listKeys(partnerId: string) {
    return this.store.apiKeys.list(partnerId)
  }

  async revokeKey(partnerId: string, keyId: string, currentKeyId?: string): Promise<void> {
    if (keyId === currentKeyId) throw fail('CONFLICT', 'a key cannot revoke itself; use another key')
    const ok = await this.store.apiKeys.revoke(partnerId, keyId, this.clock.now().toISOString())
    if (!ok) throw notFound('api key', keyId)
    for (const [hash, entry] of this.#authCache) if (entry.principal.keyId === keyId) this.#authCache.delete(hash)
  }
}

/** The OAuth2 return URL is where users' browsers are sent: an absolute http(s) URL without credentials. */
function assertReturnUrl(url: string): void {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw fail('BAD_REQUEST', `oauthReturnUrl must be an absolute http(s) URL; got ${JSON.stringify(url)}`)
  }
  if (!/^https?:$/.test(u.protocol) || u.username || u.password) throw fail('BAD_REQUEST', 'oauthReturnUrl must be an http(s) URL without user name or password')
}

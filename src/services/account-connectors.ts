// Account connectors (SPEC §1, §5): a connector installed into an account, pinned to the
// connector's live release, with its chosen authentication, auth values and property values.
// Credentials and sensitive properties are sealed at rest (AES-256-GCM, bound to the row) and
// write-only: views show masked hints. After authentication the release's post-install test-auth
// method runs, then its property lookup method, whose response sets account properties.
// OAuth2 authorization code: a signed, single-use, expiring state (+PKCE), the callback exchanges
// the code, tokens are stored sealed and refreshed by the runtime (persisted here when rotated).
// Method calls and lookups run with the account connector's credentials; rate limits are per
// account connector (rateLimitKey = its id).
import { randomBytes } from 'node:crypto'
import type { Authentication, ConnectorDefinition, Lookup, ReleaseSettings } from '../definition/schema.js'
import {
  accountPropertySpecs,
  authHints,
  checkAuthValues,
  checkProperties,
  isTokenKey,
  maskHint,
  partnerPropertySpecs,
  postInstallTargets,
  type Problem,
  type PropertySpec,
} from '../domain/accounts.js'
import { installability } from '../domain/lifecycle.js'
import { fail, notFound, PlexusError } from '../errors/errors.js'
import { authorizeUrl, exchangeAuthorizationCode, type OAuth2Authentication, type OAuth2ScriptHooks } from '../runtime/auth/authorization-code.js'
import type { OAuth2Tokens, TokenProvider } from '../runtime/auth/token-provider.js'
import { type CompiledConnector, ReleaseCache } from '../runtime/compile.js'
import { AuthError, describeError, type ErrorInfo, type RuntimeWarning } from '../runtime/errors.js'
import type { ExchangeLog, HttpSender } from '../runtime/exchange.js'
import { executeMethod, type MethodContext, type MethodPage } from '../runtime/executor.js'
import { releaseScriptSources, type ActionScripts } from '../runtime/action-scripts.js'
import type { PageState } from '../runtime/paging/paginator.js'
import { compilePath } from '../runtime/path.js'
import type { RecordValue } from '../runtime/record-selector.js'
import { valueToText } from '../runtime/template.js'
import type { Clock } from '../shared/clock.js'
import { type SecretBox, SecretUnreadableError } from '../shared/crypto.js'
import { newId } from '../shared/ids.js'
import type { Account } from '../store/repositories/accounts.js'
import type { AccountConnector, AuthFailure } from '../store/repositories/account-connectors.js'
import type { Release } from '../store/repositories/releases.js'
import type { Store } from '../store/store.js'
import type { MethodInvocation } from '../engine/method-invoker.js'
import type { Principal } from './partners.js'

/** How long an OAuth2 `state` (and so an authorization attempt) stays valid. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000
/** Upper bound on the pages a lookup reads (pick lists are meant to be short). */
export const LOOKUP_MAX_PAGES = 20
/** Most pages one call reads (`pages`). */
export const CALL_MAX_PAGES = 100

export interface InstallInput {
  connectorId: string
  name?: string | null
  authId?: string
  auth?: Record<string, string>
  properties?: Record<string, string>
}

export interface AuthInput {
  authId?: string
  auth?: Record<string, string>
  properties?: Record<string, string>
}

export interface StepOutcome {
  method: string
  ok: boolean
  /** The API's status, when it answered. */
  status?: number
  message?: string
  /** Property lookup: the properties it set. */
  set?: string[]
}

export interface PostInstallOutcome {
  testAuth?: StepOutcome
  propertyLookup?: StepOutcome
  /** Lookup-backed property values that could not be checked (the lookup failed). */
  warnings?: string[]
}

export interface AccountConnectorView {
  id: string
  accountId: string
  connectorId: string
  releaseId: string
  name: string | null
  authId: string | null
  authType: string
  authenticated: boolean
  authError: AuthFailure | null
  authenticatedAt: string | null
  /** Masked hints of the auth values (never the values). */
  auth: Record<string, string>
  /** OAuth2: whether tokens are held and when the access token expires. */
  oauth?: { hasAccessToken: boolean; hasRefreshToken: boolean; tokenExpiresAt: string | null }
  /** Property values; sensitive ones masked. */
  properties: Record<string, string>
  createdAt: string
  updatedAt: string
  postInstall?: PostInstallOutcome
}

export interface CallInput {
  parameters?: Record<string, string>
  fields?: Record<string, unknown>
  /** Upstream pages to read in this call (default 1). */
  pages?: number
  /** The `nextCursor` of the previous call: reading continues at that page. */
  cursor?: string
}

export interface RequestSummary {
  purpose: 'method' | 'token'
  method: string
  url: string
  status?: number
  durationMs: number
}

export interface CallResult {
  ok: boolean
  records: RecordValue[]
  pages: number
  nextCursor: string | null
  warnings: RuntimeWarning[]
  requests: RequestSummary[]
  error?: ErrorInfo
}

export interface LookupResult {
  ok: boolean
  items: Array<{ value: string; label: string }>
  nextCursor: string | null
  warnings: RuntimeWarning[]
  error?: ErrorInfo
}

export interface OAuthStart {
  authorizeUrl: string
  state: string
  redirectUri: string
  expiresAt: string
}

export interface OAuthCallbackQuery {
  state?: string
  code?: string
  error?: string
  error_description?: string
}

export interface OAuthCallbackResult {
  status: 'success' | 'error'
  partnerId: string
  accountId: string
  accountConnectorId: string
  authenticated: boolean
  error?: string
  /** The partner's return URL with the outcome in its query; absent when none is configured. */
  redirect?: string
}

export interface AccountConnectorServiceOptions {
  /** The externally reachable base URL of this server (the OAuth2 redirect URI is built on it). */
  publicUrl?: string
  /** Called after an account connector is deauthenticated (the engine pauses the cycles using it). */
  onDeauthenticated?: (accountConnectorId: string) => Promise<void>
  /** Called before the credentials are cleared (webhook subscriptions are deleted with them). */
  beforeDeauthenticate?: (accountConnectorId: string) => Promise<void>
  /** The OAuth2 script events of a release for an account (the scripting engine plugs in here). */
  oauthHooks?: (ctx: { compiled: CompiledConnector; partnerId: string; accountId: string; externalAccountId: string | null }) => Promise<OAuth2ScriptHooks | undefined>
  /** The action events (before_action, after_action…) of one method call (the scripting engine plugs in here). */
  actionScripts?: (ctx: ActionScriptsContext) => ActionScripts | undefined
}

/** What the scripts of one method call run with. */
export interface ActionScriptsContext {
  sources: { connector: string | null; method: string | null; step: string | null }
  scriptParameters: Record<string, string>
  partnerId: string
  accountId: string
  externalAccountId: string | null
  accountConnectorId: string
  cycleId?: string
  cycleStepId?: string
  transactionId?: string
  /** The step's field and parameter values (`method_request_mergefields`). */
  mergefields: Record<string, unknown>
  context: 'RUNNING_TRANSACTION' | 'CONNECTOR_TESTING'
}

/** The decrypted working state of one account connector for the length of one operation. */
interface Session {
  ac: AccountConnector
  account: Account
  release: Release
  compiled: CompiledConnector
  authDef?: Authentication
  auth: Record<string, string>
  properties: Record<string, string>
  partnerProperties: Record<string, string>
  specs: PropertySpec[]
  /** Tokens were rotated (or a refresh failed): persist at the end of the operation. */
  dirty: boolean
  /** The sealed credentials as loaded: saves after calls only win if nobody changed them since. */
  loadedAuth: string | null
}

const CLIENT_KEYS = ['ClientId', 'ClientSecret']
const isAuthorizationCode = (a: Authentication | undefined): a is OAuth2Authentication => a?.type === 'oauth2' && a.grant === 'authorizationCode'
const describeAuth = (a: Authentication | undefined) => (!a ? 'no' : a.type === 'oauth2' ? `oauth2 (${a.grant})` : a.type)
const badRequest = (message: string, problems: Problem[]) =>
  fail('BAD_REQUEST', `${message}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems)

/** Opened secrets kept at most (see #unseal). */
const OPENED_MAX = 1_000

export class AccountConnectorService {
  readonly #compiled = new ReleaseCache()
  readonly #opened = new Map<string, Record<string, string>>()
  readonly #publicUrl?: string
  readonly #oauthHooks?: AccountConnectorServiceOptions['oauthHooks']
  readonly #actionScripts?: AccountConnectorServiceOptions['actionScripts']
  readonly #onDeauthenticated?: AccountConnectorServiceOptions['onDeauthenticated']
  readonly #beforeDeauthenticate?: AccountConnectorServiceOptions['beforeDeauthenticate']

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly box: SecretBox,
    private readonly http: HttpSender,
    opts: AccountConnectorServiceOptions = {},
  ) {
    this.#publicUrl = opts.publicUrl?.replace(/\/+$/, '')
    this.#oauthHooks = opts.oauthHooks
    this.#actionScripts = opts.actionScripts
    this.#onDeauthenticated = opts.onDeauthenticated
    this.#beforeDeauthenticate = opts.beforeDeauthenticate
  }

  // ---- reading ---------------------------------------------------------------------------

  async list(partnerId: string, accountId: string, opts: { limit: number; after?: string; connectorId?: string }): Promise<AccountConnectorView[]> {
    await this.#account(partnerId, accountId)
    return (await this.store.accountConnectors.list(partnerId, accountId, opts)).map(view)
  }

  async get(partnerId: string, accountId: string, id: string): Promise<AccountConnectorView> {
    await this.#account(partnerId, accountId)
    return view(await this.#row(partnerId, accountId, id))
  }

  // ---- install, change, remove -----------------------------------------------------------

  async install(actor: Principal, accountId: string, input: InstallInput): Promise<AccountConnectorView> {
    const account = await this.#account(actor.partnerId, accountId)
    const connector = await this.store.connectors.getVisible(actor.partnerId, input.connectorId)
    if (!connector) throw notFound('connector', input.connectorId)
    const release = await this.store.releases.getByState(connector.id, 'live')
    if (!release) throw fail('NO_LIVE_RELEASE', `connector ${connector.id} has no live release to install; push a release live first`)
    const partner = await this.store.partners.get(actor.partnerId)
    const check = installability(release.settings.status, partner?.enableBetaConnectors ?? false)
    if (!check.installable) throw fail('NOT_INSTALLABLE', `connector ${connector.id} cannot be installed: ${check.reason}`, { status: release.settings.status })

    const at = this.#now()
    const ac: AccountConnector = {
      id: newId('acn'),
      partnerId: actor.partnerId,
      accountId,
      connectorId: connector.id,
      releaseId: release.id,
      name: input.name ?? null,
      authId: null,
      authType: 'none',
      sealedAuth: null,
      properties: {},
      sealedProperties: null,
      hints: { auth: {}, properties: {} },
      authenticated: false,
      authError: null,
      authenticatedAt: null,
      tokenExpiresAt: null,
      createdAt: at,
      updatedAt: at,
    }
    const s = await this.#session(ac, account, release, {})
    this.#applyAuthInput(s, input, true)
    const outcome = await this.#authenticate(s)
    await this.#checkLookupValues(s, Object.keys(input.properties ?? {}), outcome)
    this.#seal(s)
    await this.store.accountConnectors.insert(s.ac)
    return { ...view(s.ac), postInstall: outcome }
  }

  /** Changes the name and/or property values (an empty value removes an optional property). */
  async update(actor: Principal, accountId: string, id: string, patch: { name?: string | null; properties?: Record<string, string> }): Promise<AccountConnectorView> {
    const s = await this.#open(actor.partnerId, accountId, id)
    if (patch.name !== undefined) s.ac.name = patch.name
    if (patch.properties) {
      const problems = checkProperties(s.specs, patch.properties, false)
      for (const [k, v] of Object.entries(patch.properties)) {
        if (v === '') {
          if (s.specs.find((p) => p.name === k)?.required) problems.push({ path: `properties.${k}`, message: 'is required and cannot be removed' })
          delete s.properties[k]
        } else s.properties[k] = v
      }
      if (problems.length) throw badRequest('the properties are not valid', problems)
      await this.#checkLookupValues(s, Object.keys(patch.properties).filter((k) => patch.properties![k] !== ''), {})
    }
    await this.#save(s)
    return view(s.ac)
  }

  async delete(actor: Principal, accountId: string, id: string): Promise<void> {
    await this.#account(actor.partnerId, accountId)
    // Cycles do not exist yet; when they do, a connector used by a cycle is refused here (409).
    const n = await this.store.accountConnectors.delete(actor.partnerId, accountId, id)
    if (!n) throw notFound('account connector', id)
  }

  /** Replaces the credentials (and optionally the authentication and properties); re-runs post-install. */
  async setAuth(actor: Principal, accountId: string, id: string, input: AuthInput): Promise<AccountConnectorView> {
    const s = await this.#open(actor.partnerId, accountId, id)
    this.#applyAuthInput(s, input, false)
    const outcome = await this.#authenticate(s)
    await this.#checkLookupValues(s, Object.keys(input.properties ?? {}), outcome)
    await this.#save(s)
    return { ...view(s.ac), postInstall: outcome }
  }

  /** Runs the post-install test-auth method again (or, without one, checks credentials are present). */
  async testAuth(actor: Principal, accountId: string, id: string): Promise<AccountConnectorView> {
    const s = await this.#open(actor.partnerId, accountId, id)
    const outcome: PostInstallOutcome = {}
    if (!this.#hasCredentials(s)) this.#unauthenticated(s, null)
    else await this.#testAuth(s, outcome)
    await this.#save(s)
    return { ...view(s.ac), postInstall: outcome }
  }

  /**
   * Clears the credentials (per-account OAuth2 client id/secret are configuration and stay).
   * Once cycles exist, every cycle using this account connector is paused here and its webhooks
   * deregistered.
   */
  async deauthenticate(actor: Principal, accountId: string, id: string): Promise<AccountConnectorView> {
    const s = await this.#open(actor.partnerId, accountId, id)
    await this.#beforeDeauthenticate?.(s.ac.id)
    s.auth = Object.fromEntries(Object.entries(s.auth).filter(([k]) => CLIENT_KEYS.includes(k)))
    this.#unauthenticated(s, null)
    await this.#save(s)
    await this.#onDeauthenticated?.(s.ac.id)
    return view(s.ac)
  }

  // ---- OAuth2 authorization code ----------------------------------------------------------

  async oauthStart(actor: Principal, accountId: string, id: string, opts: { origin?: string } = {}): Promise<OAuthStart> {
    const s = await this.#open(actor.partnerId, accountId, id)
    const auth = s.authDef
    if (!isAuthorizationCode(auth)) {
      throw fail('OAUTH_NOT_CONFIGURED', `account connector ${id} uses ${describeAuth(s.authDef)} authentication; only the oauth2 authorizationCode grant is authorized through the browser`)
    }
    if (!auth.authorizeUrl) throw fail('OAUTH_NOT_CONFIGURED', `authentication "${auth.id}" of the release has no authorizeUrl`)
    const clientId = this.#client(s, 'ClientId')
    if (!clientId) {
      throw fail('OAUTH_NOT_CONFIGURED', `no OAuth2 client id: set ClientId in the partner properties of connector ${s.ac.connectorId} (PUT /v1/connectors/${s.ac.connectorId}/properties), or in this account connector's auth values`)
    }
    const base = this.#publicUrl ?? opts.origin?.replace(/\/+$/, '')
    if (!base) throw fail('OAUTH_NOT_CONFIGURED', 'the public URL of this server is unknown: set PLEXUS_PUBLIC_URL')
    const redirectUri = `${base}/v1/oauth/callback`
    const now = this.clock.now()
    const nonce = randomBytes(18).toString('base64url')
    const expiresAt = new Date(now.getTime() + OAUTH_STATE_TTL_MS)
    const state = this.box.sign({ n: nonce, p: actor.partnerId, a: id, e: expiresAt.getTime() }, 'oauth2-state')
    await this.store.oauthStates.sweep(now.toISOString())
    await this.store.oauthStates.insert({ id: nonce, partnerId: actor.partnerId, accountConnectorId: id, redirectUri, createdAt: now.toISOString(), expiresAt: expiresAt.toISOString() })
    let url = authorizeUrl(auth, {
      clientId,
      redirectUri,
      state,
      codeVerifier: auth.pkce ? this.#pkceVerifier(nonce) : undefined,
      vars: { ...s.partnerProperties, ...s.properties },
    })
    const hooks = await this.#hooks(s)
    if (hooks?.beforeAuthorise) url = await hooks.beforeAuthorise(url)
    return { authorizeUrl: url, state, redirectUri, expiresAt: expiresAt.toISOString() }
  }

  /**
   * The provider sent the user's browser back. The state must be intact, unexpired and unused;
   * then the code is exchanged, the tokens sealed, and post-install runs.
   */
  async oauthCallback(query: OAuthCallbackQuery): Promise<OAuthCallbackResult> {
    const invalid = (why: string) => fail('OAUTH_STATE_INVALID', `the OAuth2 state ${why}; start the authorization again (GET …/oauth/start)`)
    if (!query.state) throw invalid('is missing')
    const payload = this.box.verify<{ n: string; p: string; a: string; e: number }>(query.state, 'oauth2-state')
    if (!payload || typeof payload.n !== 'string' || typeof payload.p !== 'string' || typeof payload.a !== 'string') throw invalid('is not one Plexus issued (altered or malformed)')
    const now = this.clock.now()
    if (!(payload.e > now.getTime())) throw invalid('has expired')
    const row = await this.store.oauthStates.consume(payload.n, now.toISOString())
    if (!row) throw invalid('was already used or has expired')
    if (row.partnerId !== payload.p || row.accountConnectorId !== payload.a) throw invalid('does not match its record')

    const ac = await this.store.accountConnectors.getForPartner(row.partnerId, row.accountConnectorId)
    if (!ac) throw notFound('account connector', row.accountConnectorId)
    const account = await this.#account(ac.partnerId, ac.accountId)
    const s = await this.#session(ac, account, await this.#release(ac), this.#openSecrets(ac))
    const partner = await this.store.partners.get(ac.partnerId)
    const finish = async (error?: string): Promise<OAuthCallbackResult> => {
      await this.#save(s)
      const result: OAuthCallbackResult = {
        status: error ? 'error' : 'success',
        partnerId: ac.partnerId,
        accountId: ac.accountId,
        accountConnectorId: ac.id,
        authenticated: s.ac.authenticated,
        ...(error ? { error } : {}),
      }
      if (partner?.oauthReturnUrl) {
        const back = new URL(partner.oauthReturnUrl)
        back.searchParams.set('status', result.status)
        back.searchParams.set('accountId', result.accountId)
        back.searchParams.set('accountConnectorId', result.accountConnectorId)
        if (error) back.searchParams.set('error', error)
        result.redirect = back.href
      }
      return result
    }

    const auth = s.authDef
    if (!isAuthorizationCode(auth)) {
      this.#unauthenticated(s, { stage: 'authorization', message: 'the account connector no longer uses an oauth2 authorizationCode authentication' })
      return finish('auth_changed')
    }
    if (query.error || !query.code) {
      const error = (query.error ?? 'no_code').slice(0, 100)
      const why = query.error ? `the provider refused authorization: ${error}${query.error_description ? ` (${query.error_description.slice(0, 300)})` : ''}` : 'the provider sent no authorization code'
      this.#unauthenticated(s, { stage: 'authorization', message: why })
      return finish(error.replace(/[^\w.-]/g, '_'))
    }
    const clientId = this.#client(s, 'ClientId')
    if (!clientId) {
      this.#unauthenticated(s, { stage: 'tokenExchange', message: 'no OAuth2 client id' })
      return finish('client_missing')
    }
    let tokens: OAuth2Tokens
    try {
      tokens = await exchangeAuthorizationCode(
        auth,
        {
          code: query.code,
          redirectUri: row.redirectUri,
          codeVerifier: auth.pkce ? this.#pkceVerifier(row.id) : undefined,
          clientId,
          clientSecret: this.#client(s, 'ClientSecret'),
          vars: { ...s.partnerProperties, ...s.properties },
        },
        { http: this.http, now: () => this.clock.now().getTime(), hooks: await this.#hooks(s) },
      )
    } catch (err) {
      const info = describeError(err, [query.code, ...this.#secretValues(s)])
      this.#unauthenticated(s, { stage: 'tokenExchange', ...(info.status !== undefined ? { status: info.status } : {}), message: info.message })
      return finish('token_exchange_failed')
    }
    this.#storeTokens(s, tokens)
    await this.#authenticate(s)
    return finish(s.ac.authenticated ? undefined : s.ac.authError?.stage === 'testAuth' ? 'test_auth_failed' : 'post_install_failed')
  }

  // ---- data on demand ----------------------------------------------------------------------

  /** Calls a method with the account connector's credentials: one or more upstream pages per call. */
  async call(actor: Principal, accountId: string, id: string, methodId: string, input: CallInput): Promise<CallResult> {
    const s = await this.#open(actor.partnerId, accountId, id)
    this.#assertAuthenticated(s)
    s.compiled.method(methodId) // NOT_FOUND for an unknown method
    const startAt = input.cursor ? this.#openCursor(input.cursor, s.ac.id, methodId) : undefined
    const wanted = Math.min(input.pages ?? 1, CALL_MAX_PAGES)
    const requests: ExchangeLog[] = []
    const result: CallResult = { ok: true, records: [], pages: 0, nextCursor: null, warnings: [], requests: [] }

    const attempt = async () => {
      const exec = executeMethod(s.compiled, methodId, this.#context(s, { methodId, parameters: input.parameters, fields: input.fields, startAt, onRequest: (l) => requests.push(l) }))
      let last: MethodPage | undefined
      try {
        for await (const page of exec) {
          result.pages++
          for (const r of page.records) result.records.push(r)
          last = page
          if (result.pages >= wanted) break
        }
      } finally {
        result.warnings.push(...exec.warnings)
      }
      result.nextCursor = last?.next ? this.#sealCursor(last.next, s.ac.id, methodId) : null
    }
    // (A script's AuthSessionException re-runs the property lookup inside the call: #context's renewSession.)
    try {
      await attempt()
    } catch (err) {
      if (err instanceof PlexusError) throw err // bad input: unknown method, missing parameter
      result.ok = false
      result.error = describeError(err, this.#secretValues(s))
      if (err instanceof AuthError) {
        this.#unauthenticated(s, { stage: 'tokenRefresh', ...(err.status !== undefined ? { status: err.status } : {}), message: result.error.message })
        s.dirty = true
      }
    }
    result.requests = requests.map(summary)
    await this.#saveAfterCall(s)
    return result
  }

  /**
   * The engine's method calls (MethodInvoker): a cycle step's method on the release the step is
   * pinned to, with this account connector's credentials, properties and rate limit.
   */
  async *invoke(inv: MethodInvocation): AsyncGenerator<MethodPage> {
    const ac = await this.store.accountConnectors.getForPartner(inv.partnerId, inv.accountConnectorId)
    if (!ac || ac.accountId !== inv.accountId) throw notFound('account connector', inv.accountConnectorId)
    const account = await this.#account(inv.partnerId, inv.accountId)
    const release = await this.store.releases.get(inv.connectorId, inv.releaseId)
    if (!release) throw notFound('release', inv.releaseId)
    const s = await this.#session(ac, account, release, this.#openSecrets(ac))
    this.#assertAuthenticated(s)
    const ctx = this.#context(s, {
      methodId: inv.methodId,
      parameters: inv.parameters,
      fields: inv.fields,
      ...(inv.maxPages !== undefined ? { maxPages: inv.maxPages } : {}),
      ...(inv.step ? { step: inv.step } : {}),
      ...(inv.builtIns.CycleId ? { cycleId: inv.builtIns.CycleId } : {}),
      ...(inv.builtIns.TransactionId ? { transactionId: inv.builtIns.TransactionId } : {}),
      lastSuccessfulRunDate: inv.builtIns.LastSuccessfulRunDate,
    })
    ctx.vars = { ...ctx.vars, ...inv.builtIns }
    if (inv.onScriptOutcome) ctx.onScriptOutcome = inv.onScriptOutcome
    if (inv.signal) ctx.signal = inv.signal
    try {
      yield* executeMethod(s.compiled, inv.methodId, ctx)
    } catch (err) {
      if (err instanceof AuthError) {
        this.#unauthenticated(s, { stage: 'tokenRefresh', ...(err.status !== undefined ? { status: err.status } : {}), message: describeError(err, this.#secretValues(s)).message })
        s.dirty = true
      }
      throw err
    } finally {
      await this.#saveAfterCall(s)
    }
  }

  /** Value/label pairs of a lookup, searchable (by the API when the lookup declares a search parameter) and paged. */
  async lookup(actor: Principal, accountId: string, id: string, name: string, query: { search?: string; limit: number; cursor?: string }): Promise<LookupResult> {
    const s = await this.#open(actor.partnerId, accountId, id)
    this.#assertAuthenticated(s)
    const def = s.release.definition.lookups?.find((l) => l.name === name)
    if (!def) throw notFound('lookup', name)
    let offset = 0
    if (query.cursor !== undefined) {
      offset = Number(query.cursor)
      if (!/^\d+$/.test(query.cursor) || !Number.isSafeInteger(offset)) throw fail('BAD_REQUEST', 'cursor must be the nextCursor of the previous page', [{ path: 'querystring.cursor', message: 'is not a cursor' }])
    }
    const all = await this.#lookupValues(s, def, query.search)
    await this.#saveAfterCall(s)
    const items = all.items.slice(offset, offset + query.limit)
    return {
      ok: all.ok,
      items,
      nextCursor: offset + query.limit < all.items.length ? String(offset + query.limit) : null,
      warnings: all.warnings,
      ...(all.error ? { error: all.error } : {}),
    }
  }

  // ---- partner properties -------------------------------------------------------------------

  /** The partner's property values for a connector (partner-scope parameters, OAuth2 client id/secret). */
  async getPartnerProperties(partnerId: string, connectorId: string) {
    const specs = await this.#partnerSpecs(partnerId, connectorId)
    const row = await this.store.partnerProperties.get(partnerId, connectorId)
    return {
      connectorId,
      properties: { ...(row?.properties ?? {}), ...(row?.hints ?? {}) },
      available: specs,
      updatedAt: row?.updatedAt ?? null,
    }
  }

  /** Sets (or, with an empty value, removes) partner property values; sensitive ones are sealed. */
  async setPartnerProperties(actor: Principal, connectorId: string, values: Record<string, string>) {
    const specs = await this.#partnerSpecs(actor.partnerId, connectorId)
    const byName = new Map(specs.map((p) => [p.name, p]))
    const problems: Problem[] = Object.keys(values)
      .filter((k) => !byName.has(k))
      .map((k) => ({ path: `properties.${k}`, message: `unknown partner property; connector ${connectorId} has ${specs.map((p) => p.name).join(', ') || 'none'}` }))
    if (problems.length) throw badRequest('the partner properties are not valid', problems)
    const current = await this.#partnerValues(actor.partnerId, connectorId)
    for (const [k, v] of Object.entries(values)) {
      if (v === '') delete current[k]
      else current[k] = v
    }
    const plain: Record<string, string> = {}
    const secret: Record<string, string> = {}
    for (const [k, v] of Object.entries(current)) (byName.get(k)?.sensitive ? secret : plain)[k] = v
    await this.store.partnerProperties.put({
      partnerId: actor.partnerId,
      connectorId,
      properties: plain,
      sealedProperties: Object.keys(secret).length ? this.box.sealJson(secret, partnerAad(actor.partnerId, connectorId)) : null,
      hints: Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, maskHint(v)])),
      updatedAt: this.#now(),
    })
    return this.getPartnerProperties(actor.partnerId, connectorId)
  }

  /** Internal (webhook signatures): the partner's property values, sensitive ones unsealed. */
  async partnerPropertyValues(partnerId: string, connectorId: string): Promise<Record<string, string>> {
    return this.#partnerValues(partnerId, connectorId)
  }

  async #partnerSpecs(partnerId: string, connectorId: string) {
    const connector = await this.store.connectors.getVisible(partnerId, connectorId)
    if (!connector) throw notFound('connector', connectorId)
    const live = await this.store.releases.getByState(connectorId, 'live')
    if (!live) throw fail('NO_LIVE_RELEASE', `connector ${connectorId} has no live release; its partner properties are those of the live release`)
    return partnerPropertySpecs(live.definition)
  }

  async #partnerValues(partnerId: string, connectorId: string): Promise<Record<string, string>> {
    const row = await this.store.partnerProperties.get(partnerId, connectorId)
    if (!row) return {}
    const secret = row.sealedProperties ? this.#unseal<Record<string, string>>(row.sealedProperties, partnerAad(partnerId, connectorId)) : {}
    return { ...row.properties, ...secret }
  }

  // ---- internals: loading and sealing -------------------------------------------------------

  #now(): string {
    return this.clock.now().toISOString()
  }

  async #account(partnerId: string, accountId: string): Promise<Account> {
    const a = await this.store.accounts.get(partnerId, accountId)
    if (!a) throw notFound('account', accountId)
    return a
  }

  async #row(partnerId: string, accountId: string, id: string): Promise<AccountConnector> {
    const ac = await this.store.accountConnectors.get(partnerId, accountId, id)
    if (!ac) throw notFound('account connector', id)
    return ac
  }

  async #release(ac: AccountConnector): Promise<Release> {
    const r = await this.store.releases.get(ac.connectorId, ac.releaseId)
    if (!r) throw notFound('release', ac.releaseId)
    return r
  }

  async #open(partnerId: string, accountId: string, id: string): Promise<Session> {
    const account = await this.#account(partnerId, accountId)
    const ac = await this.#row(partnerId, accountId, id)
    return this.#session(ac, account, await this.#release(ac), this.#openSecrets(ac))
  }

  async #session(ac: AccountConnector, account: Account, release: Release, secrets: { auth?: Record<string, string>; properties?: Record<string, string> }): Promise<Session> {
    const compiled = this.#compiled.get(release.id, () => ({ settings: release.settings, definition: release.definition, releaseId: release.id }))
    return {
      ac: { ...ac },
      account,
      release,
      compiled,
      authDef: ac.authId ? release.definition.authentications?.find((a) => a.id === ac.authId) : undefined,
      auth: { ...(secrets.auth ?? {}) },
      properties: { ...ac.properties, ...(secrets.properties ?? {}) },
      partnerProperties: await this.#partnerValues(ac.partnerId, ac.connectorId),
      specs: accountPropertySpecs(release.settings, release.definition),
      dirty: false,
      loadedAuth: ac.sealedAuth,
    }
  }

  #openSecrets(ac: AccountConnector): { auth: Record<string, string>; properties: Record<string, string> } {
    return {
      auth: ac.sealedAuth ? this.#unseal<Record<string, string>>(ac.sealedAuth, rowAad(ac.id, 'auth')) : {},
      properties: ac.sealedProperties ? this.#unseal<Record<string, string>>(ac.sealedProperties, rowAad(ac.id, 'properties')) : {},
    }
  }

  #unseal<T extends Record<string, string>>(sealed: string, aad: string): T {
    // Every method call opens its account connector's secrets: the plaintext of a sealed value
    // (sealed values are never changed in place: a new secret is a new sealed text) is kept for
    // the next call, in a bounded map; callers get their own copy.
    const key = `${aad}\u0000${sealed}`
    const known = this.#opened.get(key)
    if (known) return { ...known } as T
    try {
      const value = this.box.openJson<T>(sealed, aad)
      if (this.#opened.size >= OPENED_MAX) this.#opened.clear()
      this.#opened.set(key, { ...value })
      return value
    } catch (err) {
      if (err instanceof SecretUnreadableError) throw fail('SECRET_UNREADABLE', err.message)
      throw err
    }
  }

  /** Writes the session's secrets back into the row: sealed values, masked hints. */
  #seal(s: Session): void {
    const ac = s.ac
    const sensitive = new Set(s.specs.filter((p) => p.sensitive).map((p) => p.name))
    const plain: Record<string, string> = {}
    const secret: Record<string, string> = {}
    for (const [k, v] of Object.entries(s.properties)) (sensitive.has(k) ? secret : plain)[k] = v
    ac.sealedAuth = Object.keys(s.auth).length ? this.box.sealJson(s.auth, rowAad(ac.id, 'auth')) : null
    ac.properties = plain
    ac.sealedProperties = Object.keys(secret).length ? this.box.sealJson(secret, rowAad(ac.id, 'properties')) : null
    ac.hints = {
      auth: authHints(s.auth),
      properties: Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, maskHint(v)])),
      ...(s.authDef?.type === 'oauth2' ? { tokens: { accessToken: !!s.auth.AccessToken, refreshToken: !!s.auth.RefreshToken } } : {}),
    }
    ac.tokenExpiresAt = s.auth.ExpiresAt ?? null
    ac.updatedAt = this.#now()
  }

  async #save(s: Session): Promise<void> {
    this.#seal(s)
    await this.store.accountConnectors.save(s.ac)
    s.dirty = false
  }

  /**
   * After a call rotated tokens or failed to refresh them: written only if the credentials are
   * still the ones this call started with. Otherwise another process (or a PUT auth) changed them
   * meanwhile, and its state is kept rather than overwritten with stale tokens.
   */
  async #saveAfterCall(s: Session): Promise<void> {
    if (!s.dirty) return
    this.#seal(s)
    await this.store.accountConnectors.save(s.ac, { ifSealedAuth: s.loadedAuth })
    s.dirty = false
  }

  // ---- internals: authentication ------------------------------------------------------------

  /** Validates and applies `{authId, auth, properties}` to the session (400 with every problem). */
  #applyAuthInput(s: Session, input: AuthInput, installing: boolean): void {
    const auths = s.release.definition.authentications ?? []
    const problems: Problem[] = []
    let authDef: Authentication | undefined
    if (input.authId !== undefined) {
      authDef = auths.find((a) => a.id === input.authId)
      if (!authDef) problems.push({ path: 'authId', message: `is not an authentication of the live release; it has ${auths.map((a) => a.id).join(', ') || 'none'}` })
    } else if (installing || !s.authDef) {
      authDef = auths.find((a) => a.default) ?? auths[0]
    } else authDef = s.authDef
    const auth = { ...(input.auth ?? {}) }
    const properties = { ...(input.properties ?? {}) }
    // Cyclr: per-account OAuth2 app credentials are the account properties ClientId / ClientSecret.
    if (authDef?.type === 'oauth2') {
      for (const k of CLIENT_KEYS) {
        if (properties[k] !== undefined && !s.specs.some((p) => p.name === k)) {
          auth[k] ??= properties[k]
          delete properties[k]
        }
      }
    }
    if (authDef || input.authId === undefined) problems.push(...checkAuthValues(authDef, auth))
    const merged = { ...s.properties, ...properties }
    for (const [k, v] of Object.entries(properties)) if (v === '') delete merged[k]
    problems.push(...checkProperties(s.specs, properties, false), ...checkProperties(s.specs, merged, true).filter((p) => p.message === 'is required'))
    if (authDef?.type === 'oauth2' && authDef.grant !== 'authorizationCode' && !(auth.ClientId || merged.ClientId || s.partnerProperties.ClientId)) {
      problems.push({ path: 'auth.ClientId', message: `is required: the ${authDef.grant} grant needs an OAuth2 client id (here, or as a partner property of the connector)` })
    }
    const unique = problems.filter((p, i) => problems.findIndex((q) => q.path === p.path && q.message === p.message) === i)
    if (unique.length) throw badRequest(installing ? 'the connector cannot be installed' : 'the authentication is not valid', unique)
    // Keep the per-account client id/secret when they are not given again.
    const kept = authDef?.type === 'oauth2' && authDef.id === s.authDef?.id ? Object.fromEntries(Object.entries(s.auth).filter(([k]) => CLIENT_KEYS.includes(k))) : {}
    s.authDef = authDef
    s.ac.authId = authDef?.id ?? null
    s.ac.authType = authDef?.type ?? 'none'
    s.auth = { ...kept, ...auth }
    s.properties = merged
    this.#unauthenticated(s, null)
  }

  /** Whether the session holds what its authentication needs to make calls. */
  #hasCredentials(s: Session): boolean {
    if (isAuthorizationCode(s.authDef)) return !!(s.auth.AccessToken || s.auth.RefreshToken)
    return true // other types were validated when the values were given
  }

  #unauthenticated(s: Session, failure: Omit<AuthFailure, 'at'> | null): void {
    s.ac.authenticated = false
    s.ac.authenticatedAt = null
    s.ac.authError = failure ? { ...failure, at: this.#now() } : null
  }

  #assertAuthenticated(s: Session): void {
    if (s.ac.authenticated) return
    const reason = s.ac.authError?.message ?? (this.#hasCredentials(s) ? 'not authenticated' : isAuthorizationCode(s.authDef) ? 'OAuth2 authorization has not been completed (GET …/oauth/start)' : 'no credentials')
    throw fail('NOT_AUTHENTICATED', `account connector ${s.ac.id} is not authenticated: ${reason}`, { reason, ...(s.ac.authError ? { stage: s.ac.authError.stage } : {}) })
  }

  /** Post-install: the test-auth method, then the property lookup method (SPEC §1 release settings). */
  async #authenticate(s: Session): Promise<PostInstallOutcome> {
    const outcome: PostInstallOutcome = {}
    if (!this.#hasCredentials(s)) {
      this.#unauthenticated(s, null)
      return outcome
    }
    if (!(await this.#testAuth(s, outcome))) return outcome
    if (s.release.settings.postInstallPropertyLookupMethod) {
      const lookup = await this.#propertyLookup(s)
      outcome.propertyLookup = lookup
      if (!lookup.ok) this.#unauthenticated(s, { stage: 'propertyLookup', ...(lookup.status !== undefined ? { status: lookup.status } : {}), message: lookup.message ?? 'failed' })
    }
    return outcome
  }

  async #testAuth(s: Session, outcome: PostInstallOutcome): Promise<boolean> {
    const methodId = s.release.settings.postInstallTestAuthMethod
    if (methodId) {
      const run = await this.#firstPage(s, methodId, {})
      outcome.testAuth = { method: methodId, ok: run.ok, ...(run.status !== undefined ? { status: run.status } : {}), ...(run.message ? { message: run.message } : {}) }
      if (!run.ok) {
        this.#unauthenticated(s, { stage: run.authFailed ? 'tokenRefresh' : 'testAuth', ...(run.status !== undefined ? { status: run.status } : {}), message: run.message ?? 'failed' })
        return false
      }
    }
    s.ac.authenticated = true
    s.ac.authError = null
    s.ac.authenticatedAt = this.#now()
    return true
  }

  /** Runs the property lookup method and sets the account properties its response carries. */
  async #propertyLookup(s: Session): Promise<StepOutcome> {
    const methodId = s.release.settings.postInstallPropertyLookupMethod!
    // Not renewable itself: an AuthSessionException in the lookup's own scripts fails it.
    const run = await this.#firstPage(s, methodId, { renew: false })
    if (!run.ok || !run.page) return { method: methodId, ok: false, ...(run.status !== undefined ? { status: run.status } : {}), message: run.message ?? 'no response' }
    const set = extractProperties(s.release.settings, s.release.definition, run.page)
    Object.assign(s.properties, set)
    return { method: methodId, ok: true, status: run.page.response.status, set: Object.keys(set) }
  }

  /** The first page of a method (post-install methods read one page). */
  async #firstPage(s: Session, methodId: string, input: { parameters?: Record<string, string>; renew?: boolean }): Promise<{ ok: boolean; page?: MethodPage; status?: number; message?: string; authFailed?: boolean }> {
    const exec = executeMethod(s.compiled, methodId, this.#context(s, { methodId, parameters: input.parameters, maxPages: 1, renew: input.renew ?? true }))
    try {
      for await (const page of exec) return { ok: true, page, status: page.response.status }
      return { ok: true }
    } catch (err) {
      if (err instanceof PlexusError) {
        // The release cannot make this call with what the account has (e.g. a missing property).
        return { ok: false, message: err.message }
      }
      const info = describeError(err, this.#secretValues(s))
      return { ok: false, ...(info.status !== undefined ? { status: info.status } : {}), message: info.message, authFailed: err instanceof AuthError }
    }
  }

  /** The runtime context of a call with this account connector's credentials and properties. */
  #context(
    s: Session,
    input: {
      methodId?: string
      parameters?: Record<string, string>
      fields?: Record<string, unknown>
      maxPages?: number
      startAt?: PageState
      includeRaw?: boolean
      onRequest?: (log: ExchangeLog) => void
      /** A script's AuthSessionException may re-run the property lookup (default true). */
      renew?: boolean
      step?: { id: string; script?: string | null }
      cycleId?: string
      transactionId?: string
      lastSuccessfulRunDate?: string
    },
  ): MethodContext {
    const properties = { ...s.partnerProperties, ...s.properties }
    const ctx: MethodContext = {
      auth: { id: s.ac.authId ?? undefined, values: s.auth },
      properties,
      parameters: input.parameters,
      fields: input.fields,
      vars: { AccountId: s.account.id, ExternalAccountId: s.account.externalId ?? '' },
      http: this.http,
      rateLimitKey: s.ac.id,
      ...(input.maxPages !== undefined ? { maxPages: input.maxPages } : {}),
      ...(input.startAt ? { startAt: input.startAt } : {}),
      ...(input.includeRaw ? { includeRaw: true } : {}),
      ...(input.onRequest ? { onRequest: input.onRequest } : {}),
      tokenProvider: this.#tokenProvider(s, properties, input.onRequest),
    }
    if (this.#actionScripts && input.methodId) {
      const { scriptParameters, ...release } = releaseScriptSources(s.release.definition, input.methodId, input.parameters ?? {})
      const scripts = this.#actionScripts({
        sources: { ...release, step: input.step?.script ?? null },
        scriptParameters,
        partnerId: s.ac.partnerId,
        accountId: s.account.id,
        externalAccountId: s.account.externalId,
        accountConnectorId: s.ac.id,
        ...(input.cycleId ? { cycleId: input.cycleId } : {}),
        ...(input.step ? { cycleStepId: input.step.id } : {}),
        ...(input.transactionId ? { transactionId: input.transactionId } : {}),
        mergefields: { ...(input.parameters ?? {}), ...(input.fields ?? {}) },
        context: input.cycleId ? 'RUNNING_TRANSACTION' : 'CONNECTOR_TESTING',
      })
      if (scripts) {
        ctx.scripts = scripts
        if (input.lastSuccessfulRunDate) ctx.vars = { ...ctx.vars, LastSuccessfulRunDate: input.lastSuccessfulRunDate }
        if (input.renew !== false && s.release.settings.postInstallPropertyLookupMethod) {
          ctx.renewSession = async () => {
            const lookup = await this.#propertyLookup(s)
            if (!lookup.ok) throw new Error(`AuthSessionException: the property lookup method ${lookup.method} failed: ${lookup.message ?? 'error'}`)
            s.dirty = true
            return { ...s.partnerProperties, ...s.properties }
          }
        }
      }
    }
    return ctx
  }

  /** OAuth2: the runtime's provider over the sealed tokens; rotated tokens are persisted. */
  #tokenProvider(s: Session, properties: Record<string, string>, onExchange?: (log: ExchangeLog) => void): TokenProvider | undefined {
    const compiledAuth = s.compiled.auth(s.ac.authId ?? undefined)
    if (!compiledAuth.usesToken || !compiledAuth.tokenProvider) return undefined
    // Per-account client id/secret win over the partner's (the runtime reads values, then properties).
    const values = { ...s.auth }
    return compiledAuth.tokenProvider({
      values,
      properties,
      scope: { ...properties, ...values },
      deps: {
        http: this.http,
        cache: s.compiled.tokenCache,
        now: () => this.clock.now().getTime(),
        ...(onExchange ? { onExchange } : {}),
        ...(this.#oauthHooks ? { hooks: this.#lazyHooks(s) } : {}),
        onTokens: (tokens) => {
          this.#storeTokens(s, tokens)
          s.dirty = true
        },
      },
    })
  }

  #storeTokens(s: Session, tokens: OAuth2Tokens): void {
    const next = Object.fromEntries(Object.entries(s.auth).filter(([k]) => !isTokenKey(k)))
    next.AccessToken = tokens.accessToken
    if (tokens.refreshToken) next.RefreshToken = tokens.refreshToken
    if (tokens.expiresAt !== undefined) next.ExpiresAt = new Date(tokens.expiresAt).toISOString()
    s.auth = next
  }

  /** The refresh/token events for the runtime's token provider, resolved when a token request happens. */
  #lazyHooks(s: Session): OAuth2ScriptHooks {
    return {
      beforeToken: async (request, kind) => {
        const hooks = await this.#hooks(s)
        return hooks?.beforeToken ? hooks.beforeToken(request, kind) : request
      },
      afterToken: async (response, kind) => {
        const hooks = await this.#hooks(s)
        return hooks?.afterToken ? hooks.afterToken(response, kind) : response
      },
    }
  }

  #hooks(s: Session): Promise<OAuth2ScriptHooks | undefined> {
    return this.#oauthHooks?.({ compiled: s.compiled, partnerId: s.ac.partnerId, accountId: s.account.id, externalAccountId: s.account.externalId }) ?? Promise.resolve(undefined)
  }

  #client(s: Session, key: 'ClientId' | 'ClientSecret'): string | undefined {
    return s.auth[key] || s.properties[key] || s.partnerProperties[key] || undefined
  }

  /** Every secret the session knows, to redact from messages. */
  #secretValues(s: Session): string[] {
    const sensitive = new Set(s.specs.filter((p) => p.sensitive).map((p) => p.name))
    return [
      ...Object.entries(s.auth).filter(([k]) => k !== 'ExpiresAt' && k !== 'ClientId').map(([, v]) => v),
      ...Object.entries(s.properties).filter(([k]) => sensitive.has(k)).map(([, v]) => v),
      ...(s.partnerProperties.ClientSecret ? [s.partnerProperties.ClientSecret] : []),
    ].filter((v) => v.length >= 4)
  }

  #pkceVerifier(nonce: string): string {
    // 43 characters of base64url: a valid RFC 7636 verifier, derivable only with the secret key.
    return this.box.derive('pkce-verifier', nonce)
  }

  // ---- internals: lookups and cursors ------------------------------------------------------

  async #lookupValues(s: Session, def: Lookup, search?: string): Promise<{ ok: boolean; items: Array<{ value: string; label: string }>; warnings: RuntimeWarning[]; error?: ErrorInfo }> {
    const parameters = search && def.searchParameter ? { [def.searchParameter]: search } : undefined
    const exec = executeMethod(s.compiled, def.method, this.#context(s, { methodId: def.method, parameters, maxPages: LOOKUP_MAX_PAGES, includeRaw: true }))
    const valuePath = compilePath(def.valuePath)
    const labelPath = compilePath(def.labelPath)
    const items: Array<{ value: string; label: string }> = []
    const warnings: RuntimeWarning[] = []
    try {
      for await (const page of exec) {
        for (const record of page.records) {
          const raw = record._raw ?? record
          const value = valuePath.get(raw) ?? valuePath.get(record)
          if (value === undefined || value === null) continue
          const label = labelPath.get(raw) ?? labelPath.get(record)
          items.push({ value: valueToText(value), label: label === undefined || label === null ? valueToText(value) : valueToText(label) })
        }
      }
    } catch (err) {
      if (err instanceof PlexusError) throw err // bad input: a missing parameter
      const error = describeError(err, this.#secretValues(s))
      if (err instanceof AuthError) {
        this.#unauthenticated(s, { stage: 'tokenRefresh', ...(err.status !== undefined ? { status: err.status } : {}), message: error.message })
        s.dirty = true
      }
      return { ok: false, items: [], warnings: [...exec.warnings], error }
    } finally {
      warnings.push(...exec.warnings)
    }
    const needle = search && !def.searchParameter ? search.toLowerCase() : undefined
    return { ok: true, items: needle ? items.filter((i) => i.label.toLowerCase().includes(needle) || i.value.toLowerCase().includes(needle)) : items, warnings }
  }

  /** Lookup-backed properties must hold one of the lookup's values (checked once authenticated). */
  async #checkLookupValues(s: Session, names: string[], outcome: PostInstallOutcome): Promise<void> {
    const specs = s.specs.filter((p) => p.lookup && names.includes(p.name) && s.properties[p.name] !== undefined)
    if (!specs.length) return
    if (!s.ac.authenticated) {
      outcome.warnings = [...(outcome.warnings ?? []), ...specs.map((p) => `property ${p.name} was not checked against lookup ${p.lookup}: the account connector is not authenticated`)]
      return
    }
    const problems: Problem[] = []
    for (const p of specs) {
      const def = s.release.definition.lookups?.find((l) => l.name === p.lookup)
      if (!def) continue
      const values = await this.#lookupValues(s, def)
      if (!values.ok) {
        outcome.warnings = [...(outcome.warnings ?? []), `property ${p.name} was not checked against lookup ${p.lookup}: ${values.error?.message ?? 'the lookup failed'}`]
        continue
      }
      if (!values.items.some((i) => i.value === s.properties[p.name])) {
        const shown = values.items.slice(0, 10).map((i) => `${i.value} (${i.label})`).join(', ')
        problems.push({ path: `properties.${p.name}`, message: `is not a value of lookup ${p.lookup}${shown ? `; values include ${shown}` : '; the lookup has no values'}` })
      }
    }
    if (problems.length) throw badRequest('a property value is not one of its lookup values', problems)
  }

  #sealCursor(state: PageState, acid: string, methodId: string): string {
    return this.box.sealJson(state, `cursor:${acid}:${methodId}`)
  }

  #openCursor(cursor: string, acid: string, methodId: string): PageState {
    try {
      return this.box.openJson<PageState>(cursor, `cursor:${acid}:${methodId}`)
    } catch {
      throw fail('BAD_REQUEST', 'cursor is not a nextCursor of this account connector and method', [{ path: 'body.cursor', message: 'is not a valid cursor' }])
    }
  }
}

const rowAad = (id: string, part: 'auth' | 'properties') => `account_connectors:${id}:${part}`
const partnerAad = (partnerId: string, connectorId: string) => `partner_connector_properties:${partnerId}:${connectorId}`

/** The account properties a property-lookup response sets, as the release declares (see docs). */
export function extractProperties(settings: ReleaseSettings, definition: ConnectorDefinition, page: Pick<MethodPage, 'records' | 'body'>): Record<string, string> {
  const out: Record<string, string> = {}
  const targets = postInstallTargets(settings, definition)
  const first = page.records[0]
  if (first) {
    for (const name of targets) {
      const v = first[name]
      if (v !== undefined && v !== null && v !== '') out[name] = valueToText(v)
    }
  }
  for (const m of settings.postInstallPropertyMappings ?? []) {
    const v = compilePath(m.location).get(page.body)
    if (v !== undefined && v !== null && v !== '') out[m.property] = valueToText(v)
  }
  return out
}

function view(ac: AccountConnector): AccountConnectorView {
  const hints = ac.hints
  return {
    id: ac.id,
    accountId: ac.accountId,
    connectorId: ac.connectorId,
    releaseId: ac.releaseId,
    name: ac.name,
    authId: ac.authId,
    authType: ac.authType,
    authenticated: ac.authenticated,
    authError: ac.authError,
    authenticatedAt: ac.authenticatedAt,
    auth: hints.auth,
    ...(ac.authType === 'oauth2' ? { oauth: { hasAccessToken: !!hints.tokens?.accessToken, hasRefreshToken: !!hints.tokens?.refreshToken, tokenExpiresAt: ac.tokenExpiresAt } } : {}),
    properties: { ...ac.properties, ...hints.properties },
    createdAt: ac.createdAt,
    updatedAt: ac.updatedAt,
  }
}

const summary = (l: ExchangeLog): RequestSummary => ({
  purpose: l.purpose,
  method: l.request.method,
  url: l.request.url,
  ...(l.response ? { status: l.response.status } : {}),
  durationMs: Math.round(l.durationMs * 10) / 10,
})

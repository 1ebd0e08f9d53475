// OAuth2 access tokens. The runtime only needs `getToken(force?)`; the account layer can plug its
// own provider (persisted authorization-code tokens). The built-in provider runs the
// client-credentials and password grants and refresh_token, caching tokens until they expire.
import { performance } from 'node:perf_hooks';
import { AuthError, statusReason } from '../errors.js';
import { exchange } from '../exchange.js';
import type { ExchangeLog, HttpSender } from '../exchange.js';
import { CREDENTIAL_HEADERS } from '../redaction.js';
import { bodyExcerpt } from '../http/errors.js';
import type { OAuth2ScriptHooks } from './authorization-code.js';

export interface TokenProvider {
  /** A usable access token; `force` discards the current one (the API answered 401). */
  getToken(force?: boolean): Promise<string>;
}

export interface OAuth2Tokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms; undefined = no known expiry (kept until a 401). */
  expiresAt?: number;
  tokenType?: string;
  scope?: string;
}

export type OAuth2Grant = 'authorizationCode' | 'clientCredentials' | 'password';

export interface OAuth2Config {
  grant: OAuth2Grant;
  tokenUrl: string;
  refreshUrl?: string;
  clientId?: string;
  clientSecret?: string;
  username?: string;
  password?: string;
  scope?: string;
  clientAuth?: 'body' | 'basic';
  extraTokenParams?: Readonly<Record<string, string>>;
  /** Tokens the account already holds (authorization code grant). */
  initial?: OAuth2Tokens;
}

export interface TokenProviderDeps {
  http: HttpSender;
  cache: TokenCache;
  cacheKey: string;
  now?: () => number;
  signal?: AbortSignal;
  onExchange?: (log: ExchangeLog) => void;
  /** Called with every new token set, e.g. to persist a rotated refresh token. */
  onTokens?: (tokens: OAuth2Tokens) => void;
  /** OAuth2 script events around token requests (`before_oauth2_refresh`, `after_oauth2_refresh`…). */
  hooks?: OAuth2ScriptHooks;
}

interface CacheEntry {
  tokens?: OAuth2Tokens;
  inflight?: Promise<OAuth2Tokens>;
}

/** Tokens per credential set, shared by every execution of a release (bounded, oldest first out). */
export class TokenCache {
  readonly #entries = new Map<string, CacheEntry>();
  constructor(readonly maxEntries = 1000) {}

  entry(key: string): CacheEntry {
    let entry = this.#entries.get(key);
    if (!entry) {
      if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
      entry = {};
      this.#entries.set(key, entry);
    }
    return entry;
  }

  get size(): number {
    return this.#entries.size;
  }
}

// Renew a little before the stated expiry so a token does not die in flight.
const SKEW_MS = 30_000;

export class OAuth2TokenProvider implements TokenProvider {
  readonly #now: () => number;

  constructor(
    private readonly config: OAuth2Config,
    private readonly deps: TokenProviderDeps,
  ) {
    this.#now = deps.now ?? Date.now;
  }

  /** Values to mask wherever token traffic is logged. */
  get secrets(): string[] {
    const c = this.config;
    const entry = this.deps.cache.entry(this.deps.cacheKey);
    return [c.clientSecret, c.password, c.initial?.accessToken, c.initial?.refreshToken, entry.tokens?.accessToken, entry.tokens?.refreshToken].filter(
      (s): s is string => !!s,
    );
  }

  async getToken(force = false): Promise<string> {
    const entry = this.deps.cache.entry(this.deps.cacheKey);
    const current = entry.tokens ?? this.config.initial;
    if (!force && current && this.#fresh(current)) return current.accessToken;
    // A refresh already under way (another page, another run) serves this caller too.
    if (!entry.inflight) {
      entry.inflight = this.#obtain(current).finally(() => {
        entry.inflight = undefined;
      });
    }
    const tokens = await entry.inflight;
    entry.tokens = tokens;
    return tokens.accessToken;
  }

  #fresh(t: OAuth2Tokens): boolean {
    return t.expiresAt === undefined || this.#now() < t.expiresAt;
  }

  async #obtain(stale: OAuth2Tokens | undefined): Promise<OAuth2Tokens> {
    const c = this.config;
    if (stale?.refreshToken) {
      try {
        return await this.#request(c.refreshUrl ?? c.tokenUrl, { grant_type: 'refresh_token', refresh_token: stale.refreshToken }, stale.refreshToken);
      } catch (err) {
        // Grants that can start over do so; an authorization code cannot be replayed.
        if (c.grant === 'authorizationCode') throw err;
      }
    }
    if (c.grant === 'clientCredentials') return this.#request(c.tokenUrl, { grant_type: 'client_credentials', ...(c.scope ? { scope: c.scope } : {}) });
    if (c.grant === 'password') {
      if (!c.username || !c.password) throw new AuthError('the password grant needs Username and Password auth values');
      return this.#request(c.tokenUrl, { grant_type: 'password', username: c.username, password: c.password, ...(c.scope ? { scope: c.scope } : {}) });
    }
    throw new AuthError('the access token is missing or was rejected and there is no refresh token: authenticate the connector again');
  }

  async #request(url: string, params: Record<string, string>, previousRefresh?: string): Promise<OAuth2Tokens> {
    const c = this.config;
    const form = new URLSearchParams({ ...params, ...c.extraTokenParams });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (c.clientAuth === 'basic' && c.clientId) {
      // RFC 6749 §2.3.1: form-encode id and secret before base64.
      const pair = `${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret ?? '')}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else if (c.clientId) {
      form.set('client_id', c.clientId);
      if (c.clientSecret) form.set('client_secret', c.clientSecret);
    }
    const kind = params.grant_type === 'refresh_token' ? 'refresh' : 'token';
    let requestHeaders = headers;
    let requestBody = form.toString();
    if (this.deps.hooks?.beforeToken) {
      const changed = await this.deps.hooks.beforeToken({ headers, body: Object.fromEntries(form) }, kind);
      requestHeaders = changed.headers;
      requestBody = new URLSearchParams(changed.body).toString();
    }
    const secrets = this.secrets;
    const started = performance.now();
    const { res } = await exchange(
      { method: 'POST', url, headers: requestHeaders, body: requestBody },
      {
        http: this.deps.http,
        masking: { secrets, headers: CREDENTIAL_HEADERS, query: new Set() },
        purpose: 'token',
        excerptChars: 500,
        onExchange: this.deps.onExchange,
        signal: this.deps.signal,
        idempotent: false,
        responseSecrets: (r) => tokenValues(parseTokenBody(r.body, r.headers['content-type'])),
      },
    );
    let body = parseTokenBody(res.body, res.headers['content-type']);
    if (this.deps.hooks?.afterToken && res.status < 400) body = await this.deps.hooks.afterToken(body, kind);
    const accessToken = typeof body.access_token === 'string' ? body.access_token : undefined;
    if (res.status >= 400 || !accessToken) {
      const oauthError = [body.error, body.error_description].filter((x) => typeof x === 'string').join(': ');
      const why = res.status >= 400 ? statusReason(res.status) : 'no access_token in the response';
      throw new AuthError(`token request failed (${why})${oauthError ? `: ${oauthError}` : ''}`, res.status, bodyExcerpt(res.body, secrets));
    }
    const expiresIn = Number(body.expires_in);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : undefined;
    const issuedAt = this.#now() - (performance.now() - started);
    const tokens: OAuth2Tokens = {
      accessToken,
      // Servers that do not rotate refresh tokens omit them: keep the previous one.
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : previousRefresh,
      expiresAt: lifetime === undefined ? undefined : issuedAt + lifetime - Math.min(SKEW_MS, lifetime / 10),
      tokenType: typeof body.token_type === 'string' ? body.token_type : undefined,
      scope: typeof body.scope === 'string' ? body.scope : undefined,
    };
    this.deps.onTokens?.(tokens);
    return tokens;
  }
}

const tokenValues = (body: Record<string, unknown>): string[] =>
  [body.access_token, body.refresh_token, body.id_token].filter((v): v is string => typeof v === 'string' && v !== '');

function parseTokenBody(body: Buffer, contentType: string | string[] | undefined): Record<string, unknown> {
  const text = body.toString('utf8');
  const ct = String(contentType ?? '');
  try {
    if (ct.includes('json') || text.trimStart().startsWith('{')) return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
  // Some providers (GitHub by default) answer form-encoded.
  return Object.fromEntries(new URLSearchParams(text));
}

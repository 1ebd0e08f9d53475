// The OAuth2 authorization-code grant (RFC 6749 §4.1, PKCE RFC 7636): the authorize URL the
// user's browser is sent to, and the exchange of the returned code for tokens. Refreshing the
// tokens afterwards is the OAuth2TokenProvider's job (refresh_token grant).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AuthError, statusReason } from '../errors.js';
import { exchange } from '../exchange.js';
import type { ExchangeLog, HttpSender } from '../exchange.js';
import { CREDENTIAL_HEADERS } from '../redaction.js';
import { bodyExcerpt } from '../http/errors.js';
import { compileUrlTemplate } from '../template.js';
import type { TemplateVars } from '../template.js';
import type { OAuth2Tokens } from './token-provider.js';
import type { Authentication } from '../../definition/schema.js';

export type OAuth2Authentication = Extract<Authentication, { type: 'oauth2' }>;

/**
 * The OAuth2 script events (SPEC §4) around authorization and token requests. The scripting
 * engine plugs in here; without it each hook is the identity.
 */
export interface OAuth2ScriptHooks {
  /** `before_oauth2_authorise`: may change the authorize URL (`method_endpoint`). */
  beforeAuthorise?(url: string): Promise<string>;
  /** `before_oauth2_token` / `before_oauth2_refresh`: may change headers and form fields. */
  beforeToken?(request: { headers: Record<string, string>; body: Record<string, string> }, kind: 'token' | 'refresh'): Promise<{ headers: Record<string, string>; body: Record<string, string> }>;
  /** `after_oauth2_token` / `after_oauth2_refresh`: may change the parsed token response. */
  afterToken?(response: Record<string, unknown>, kind: 'token' | 'refresh'): Promise<Record<string, unknown>>;
}

/** A PKCE S256 challenge of a verifier. */
export const pkceChallenge = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

export interface AuthorizeUrlInput {
  clientId: string;
  redirectUri: string;
  state: string;
  /** PKCE verifier (the challenge is derived from it) when the authentication asks for PKCE. */
  codeVerifier?: string;
  /** Variables for `{{merge fields}}` in the authorize URL (account and partner properties). */
  vars: TemplateVars;
}

export function authorizeUrl(auth: OAuth2Authentication, input: AuthorizeUrlInput): string {
  if (!auth.authorizeUrl) throw new AuthError(`authentication "${auth.id}" has no authorizeUrl`);
  const url = new URL(compileUrlTemplate(auth.authorizeUrl)(input.vars));
  const q = url.searchParams;
  q.set('response_type', 'code');
  q.set('client_id', input.clientId);
  q.set('redirect_uri', input.redirectUri);
  if (auth.scopes?.length) q.set('scope', auth.scopes.join(auth.scopeSeparator ?? ' '));
  q.set('state', input.state);
  if (auth.pkce && input.codeVerifier) {
    q.set('code_challenge', pkceChallenge(input.codeVerifier));
    q.set('code_challenge_method', 'S256');
  }
  for (const [k, v] of Object.entries(auth.extraAuthorizeParams ?? {})) q.set(k, v);
  return url.href;
}

export interface CodeExchangeInput {
  code: string;
  redirectUri: string;
  codeVerifier?: string;
  clientId: string;
  clientSecret?: string;
  vars: TemplateVars;
}

export interface CodeExchangeDeps {
  http: HttpSender;
  now?: () => number;
  signal?: AbortSignal;
  onExchange?: (log: ExchangeLog) => void;
  hooks?: OAuth2ScriptHooks;
}

// Renew a little before the stated expiry, as the token provider does.
const SKEW_MS = 30_000;

/** Exchanges an authorization code for tokens; failures are AuthErrors with a redacted excerpt. */
export async function exchangeAuthorizationCode(auth: OAuth2Authentication, input: CodeExchangeInput, deps: CodeExchangeDeps): Promise<OAuth2Tokens> {
  const now = deps.now ?? Date.now;
  let body: Record<string, string> = { grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirectUri };
  if (input.codeVerifier) body.code_verifier = input.codeVerifier;
  let headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (auth.clientAuth === 'basic') {
    const pair = `${encodeURIComponent(input.clientId)}:${encodeURIComponent(input.clientSecret ?? '')}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else {
    body.client_id = input.clientId;
    if (input.clientSecret) body.client_secret = input.clientSecret;
  }
  Object.assign(body, auth.extraTokenParams);
  if (deps.hooks?.beforeToken) ({ headers, body } = await deps.hooks.beforeToken({ headers, body }, 'token'));

  const secrets = [input.code, input.clientSecret, input.codeVerifier].filter((s): s is string => !!s);
  const started = performance.now();
  const { res } = await exchange(
    { method: 'POST', url: compileUrlTemplate(auth.tokenUrl)(input.vars), headers, body: new URLSearchParams(body).toString() },
    {
      http: deps.http,
      masking: { secrets, headers: CREDENTIAL_HEADERS, query: new Set() },
      purpose: 'token',
      // Token responses are credentials: keep them out of exchange logs entirely.
      excerptChars: 0,
      onExchange: deps.onExchange,
      signal: deps.signal,
      idempotent: false,
    },
  );
  let parsed = parseTokenBody(res.body, res.headers['content-type']);
  if (deps.hooks?.afterToken && res.status < 400) parsed = await deps.hooks.afterToken(parsed, 'token');
  const accessToken = typeof parsed.access_token === 'string' ? parsed.access_token : undefined;
  if (res.status >= 400 || !accessToken) {
    const oauthError = [parsed.error, parsed.error_description].filter((x) => typeof x === 'string').join(': ');
    const why = res.status >= 400 ? statusReason(res.status) : 'no access_token in the response';
    const known = [...secrets, accessToken, typeof parsed.refresh_token === 'string' ? parsed.refresh_token : undefined].filter((s): s is string => !!s);
    throw new AuthError(`authorization code exchange failed (${why})${oauthError ? `: ${oauthError}` : ''}`, res.status, bodyExcerpt(res.body, known));
  }
  const expiresIn = Number(parsed.expires_in);
  const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : undefined;
  const issuedAt = now() - (performance.now() - started);
  return {
    accessToken,
    refreshToken: typeof parsed.refresh_token === 'string' ? parsed.refresh_token : undefined,
    expiresAt: lifetime === undefined ? undefined : issuedAt + lifetime - Math.min(SKEW_MS, lifetime / 10),
    tokenType: typeof parsed.token_type === 'string' ? parsed.token_type : undefined,
    scope: typeof parsed.scope === 'string' ? parsed.scope : undefined,
  };
}

function parseTokenBody(body: Buffer, contentType: string | string[] | undefined): Record<string, unknown> {
  const text = body.toString('utf8');
  if (String(contentType ?? '').includes('json') || text.trimStart().startsWith('{')) {
    try {
      const v = JSON.parse(text) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  // Some providers (GitHub by default) answer form-encoded.
  return Object.fromEntries(new URLSearchParams(text));
}

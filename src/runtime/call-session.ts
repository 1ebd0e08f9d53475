// The per-call state shared by inbound pages and outbound chunks: prepared parameters and body,
// auth parts (with the OAuth2 token), what to redact, and one `send` that refreshes the token
// once on a 401 and retries once.
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { exchange } from './exchange.js';
import type { ExchangeLog, HttpSender } from './exchange.js';
import { MethodCallError, MethodInputError, statusReason } from './errors.js';
import { bodyExcerpt } from './http/errors.js';
import type { HttpRequest, HttpResponse } from './http/http-client.js';
import { AuthSessionException, ScriptFailure, joinRequestUrl, splitRequestUrl } from './action-scripts.js';
import type { ActionRequest, ActionScriptEvent, ActionScriptResult, ActionScripts, ActionSession, ScriptOutcome, ScriptWarning } from './action-scripts.js';
import { parseResponseBody } from './response-parser.js';
import { redactRequestUrl } from './redaction.js';
import type { Masking, ResponseLog } from './redaction.js';
import { OAuth2TokenProvider } from './auth/token-provider.js';
import type { TokenProvider } from './auth/token-provider.js';
import type { AuthParts, CompiledAuth } from './auth/auth-applier.js';
import type { BuiltRequest, PreparedCall, RequestBuilder } from './request-builder.js';
import type { PageState } from './paging/paginator.js';
import type { CompiledConnector, CompiledMethod } from './compile.js';

export interface MethodContext {
  auth: { id?: string; values: Readonly<Record<string, string>> };
  /** Account and partner property values. */
  properties?: Readonly<Record<string, string>>;
  /** Step parameter values by parameter name. */
  parameters?: Readonly<Record<string, string>>;
  /** Request field values by system name. */
  fields?: Readonly<Record<string, unknown>>;
  /** Platform variables (LastSuccessfulRunDate, Webhook_Url, AccountId…). */
  vars?: Readonly<Record<string, unknown>>;
  maxPages?: number;
  http: HttpSender;
  /** Rate-limit bucket, normally the account connector id; no key = no limiting. */
  rateLimitKey?: string;
  signal?: AbortSignal;
  /** Replaces the built-in OAuth2 provider (the account layer's persisted tokens). */
  tokenProvider?: TokenProvider;
  /** Every HTTP exchange (method calls and token requests), redacted. */
  onRequest?: (log: ExchangeLog) => void;
  /** Adds `_raw` (the record as received) to records of methods with response fields. */
  includeRaw?: boolean;
  /** Length of body excerpts in logs (default 500). */
  excerptChars?: number;
  /** Resume inbound paging at this page: the `next` of a page of an earlier execution. */
  startAt?: PageState;
  /**
   * The action events of the connector/method/step scripts (one per call: it carries
   * action_data and method_request_mergefields). Absent: no script runs, nothing is paid.
   */
  scripts?: ActionScripts;
  /**
   * A script threw AuthSessionException: start a new session (re-run the post-install property
   * lookup method) and return the account properties to use; the request is retried once.
   * Absent: the call fails with an AuthSessionException for the caller to handle.
   */
  renewSession?: () => Promise<Readonly<Record<string, string>> | undefined>;
  /** What the scripts decided (after_action_paging's next LastSuccessfulRunDate, action_condition's route, warnings), once the call ends. */
  onScriptOutcome?: (outcome: ScriptOutcome) => void;
}

/** One request with its scripts: a response to use, or nothing (before_action false, after_error isWarning). */
export type Requested =
  | { kind: 'response'; sent: Sent; body: unknown; headers: Record<string, string | string[]> }
  | { kind: 'skipped'; sent?: Sent; warning: ScriptWarning };

type Attempt = Requested | { kind: 'auth_refresh'; event: ActionScriptEvent; message?: string } | { kind: 'auth_session'; event: ActionScriptEvent; message?: string };

export interface Sent {
  res: HttpResponse;
  built: BuiltRequest;
  log: ExchangeLog & { response: ResponseLog };
  durationMs: number;
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

const lastRun = (vars: Readonly<Record<string, unknown>> | undefined): string | null => {
  const v = vars?.LastSuccessfulRunDate;
  return typeof v === 'string' && v !== '' ? v : null;
};

/** after_error's `content` with isSuccess: JSON when it parses, else the text. */
function parseContent(content: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return content;
  }
}

export class CallSession {
  readonly method: CompiledMethod;
  readonly builder: RequestBuilder;
  #prepared: PreparedCall;
  readonly masking: Masking & { secrets: string[] };
  #ctx: MethodContext;
  readonly #auth: CompiledAuth;
  readonly #tokens?: TokenProvider;
  #parts?: AuthParts;

  constructor(compiled: CompiledConnector, methodId: string, ctx: MethodContext) {
    this.method = compiled.method(methodId);
    if (!this.method.request) throw new MethodInputError(`method ${methodId} is a ${this.method.type} method and makes no HTTP call`);
    this.builder = this.method.request;
    this.#ctx = ctx;
    this.#auth = compiled.auth(ctx.auth.id);
    const values = ctx.auth.values;
    const properties = ctx.properties ?? {};
    this.#prepared = this.builder.prepare({
      parameters: ctx.parameters ?? {},
      properties,
      fields: ctx.fields ?? {},
      authValues: values,
      vars: ctx.vars,
    });
    this.masking = {
      secrets: [...this.#auth.secrets(values), ...this.#prepared.secrets],
      headers: new Set([...this.#auth.maskedHeaders, ...this.builder.maskedHeaders]),
      query: new Set([...this.#auth.maskedQuery, ...this.builder.maskedQuery]),
    };
    if (this.#auth.usesToken) {
      this.#tokens =
        ctx.tokenProvider ??
        this.#auth.tokenProvider?.({
          values,
          properties,
          scope: this.#prepared.scope,
          deps: { http: ctx.http, cache: compiled.tokenCache, signal: ctx.signal, onExchange: ctx.onRequest },
        });
    }
    ctx.scripts?.bind?.(this.#actionSession());
  }

  #origin?: string;

  #actionSession(): ActionSession {
    return {
      secrets: this.masking.secrets,
      origin: () => this.#origin,
      authorize: async (req: HttpRequest) => {
        const parts = await this.#authParts(false);
        const url = new URL(req.url);
        for (const [name, value] of parts.query) url.searchParams.set(name, value);
        return { ...req, url: url.href, headers: { ...req.headers, ...parts.headers }, secrets: [...(req.secrets ?? []), ...this.masking.secrets] };
      },
    };
  }

  /** Cyclr's `method_auth_value`: the access token, the API key, or Basic's base64 user:password. */
  #authValue(): string | undefined {
    const v = this.#ctx.auth.values;
    if (this.#token !== undefined) return this.#token;
    if (v.ApiKey) return v.ApiKey;
    if (v.Username !== undefined && v.Password !== undefined) return Buffer.from(`${v.Username}:${v.Password}`).toString('base64');
    if (v.AccessToken) return v.AccessToken;
    return undefined;
  }

  #token?: string;

  get prepared(): PreparedCall {
    return this.#prepared;
  }

  get scripts(): ActionScripts | undefined {
    return this.#ctx.scripts;
  }

  get context(): MethodContext {
    return this.#ctx;
  }

  get excerptChars(): number {
    return this.#ctx.excerptChars ?? 500;
  }

  async #authParts(force: boolean): Promise<AuthParts> {
    if (this.#parts && !force) return this.#parts;
    let token: string | undefined;
    if (this.#auth.usesToken) {
      if (!this.#tokens) throw new MethodInputError(`authentication "${this.#auth.id}" needs a token provider`);
      token = await this.#tokens.getToken(force);
      this.#token = token;
      this.masking.secrets.push(token);
      if (this.#tokens instanceof OAuth2TokenProvider) this.masking.secrets.push(...this.#tokens.secrets);
    }
    this.#parts = this.#auth.parts(this.#ctx.auth.values, this.#prepared.scope, token);
    return this.#parts;
  }

  /** One HTTP exchange of this call, redacted, rate-limited per account connector. */
  #exchange(built: BuiltRequest) {
    return exchange(built, {
      http: this.#ctx.http,
      masking: this.masking,
      purpose: 'method',
      excerptChars: this.excerptChars,
      onExchange: this.#ctx.onRequest,
      signal: this.#ctx.signal,
      idempotent: this.method.idempotent,
      rateLimitKey: this.#ctx.rateLimitKey,
      rateLimits: this.method.rateLimits,
    });
  }

  /** Sends one request (one page or one chunk); a 401 with OAuth2 refreshes the token and retries once. */
  async send(page: PageState, bodyOverride?: { value: unknown }): Promise<Sent> {
    const started = performance.now();
    let parts = await this.#authParts(false);
    for (let retried = false; ; retried = true) {
      const built = this.builder.build(this.#prepared, page, parts, bodyOverride);
      const { res, log } = await this.#exchange(built);
      if (res.status === 401 && this.#tokens && !retried) {
        parts = await this.#authParts(true);
        continue;
      }
      return { res, built, log, durationMs: performance.now() - started };
    }
  }

  /**
   * One request (one page or one chunk) with the action scripts: before_action may change or
   * cancel it, after_error may turn a 4xx/5xx into a warning or a success, after_action may
   * reshape the parsed response. AuthRefreshException refreshes the token and retries once;
   * AuthSessionException starts a new session (`renewSession`) and retries once. Failures throw
   * (MethodCallError, ScriptFailure…).
   */
  async request(page: PageState, bodyOverride?: { value: unknown }): Promise<Requested> {
    let refreshed = false;
    let renewed = false;
    for (;;) {
      const r = await this.#attempt(page, bodyOverride);
      if (r.kind === 'auth_refresh') {
        if (refreshed || !this.#tokens) {
          throw new ScriptFailure(r.event, { code: 'SCRIPT_AUTH_REFRESH', message: `AuthRefreshException: ${this.#tokens ? 'the request failed again after a token refresh' : 'the connector does not use an OAuth2 token to refresh'}` });
        }
        refreshed = true;
        await this.#authParts(true);
        continue;
      }
      if (r.kind === 'auth_session') {
        if (renewed || !this.#ctx.renewSession) {
          throw new AuthSessionException(`the ${r.event} script threw AuthSessionException${renewed ? ' again after a new session was started' : ''}`);
        }
        renewed = true;
        const properties = await this.#ctx.renewSession();
        if (properties) this.#reprepare(properties);
        continue;
      }
      return r;
    }
  }

  #reprepare(properties: Readonly<Record<string, string>>): void {
    const ctx = this.#ctx;
    this.#ctx = { ...ctx, properties };
    this.#prepared = this.builder.prepare({ parameters: ctx.parameters ?? {}, properties, fields: ctx.fields ?? {}, authValues: ctx.auth.values, vars: ctx.vars });
    this.masking.secrets.push(...this.#prepared.secrets);
    this.#parts = undefined;
  }

  #scriptResult(event: ActionScriptEvent, result: ActionScriptResult): Attempt | undefined {
    switch (result.kind) {
      case 'error':
        throw new ScriptFailure(event, result.error);
      case 'auth_refresh':
        return { kind: 'auth_refresh', event, ...(result.message ? { message: result.message } : {}) };
      case 'auth_session':
        return { kind: 'auth_session', event, ...(result.message ? { message: result.message } : {}) };
      default:
        return undefined;
    }
  }

  async #attempt(page: PageState, bodyOverride?: { value: unknown }): Promise<Attempt> {
    const scripts = this.#ctx.scripts;
    if (!scripts) {
      const sent = await this.send(page, bodyOverride);
      if (sent.res.status >= 400) throw this.statusError(sent);
      return { kind: 'response', sent, body: this.parse(sent), headers: sent.res.headers };
    }
    const started = performance.now();
    let parts = await this.#authParts(false);
    for (let retried = false; ; retried = true) {
      let built = this.builder.build(this.#prepared, page, parts, bodyOverride);
      this.#origin ??= originOf(built.url);
      let seen: ActionRequest | undefined;
      if (scripts.handles('before_action')) {
        const { endpoint, parameters } = splitRequestUrl(built.url);
        const out = await scripts.beforeAction(
          { endpoint, headers: { ...built.headers }, parameters, body: built.bodyValue },
          { authValue: this.#authValue(), lastSuccessfulRunDate: lastRun(this.#ctx.vars) },
        );
        const stop = this.#scriptResult('before_action', out.result);
        if (stop) return stop;
        if (out.result.kind === 'false') {
          const level = out.result.level ? ` (${out.result.level} level)` : '';
          return { kind: 'skipped', warning: { code: 'SCRIPT_ABORTED', message: `the before_action script${level} returned false: the request was not sent` } };
        }
        seen = out.request;
        built = this.#rebuild(built, out.request);
      }
      const { res, log } = await this.#exchange(built);
      if (res.status === 401 && this.#tokens && !retried) {
        parts = await this.#authParts(true);
        continue;
      }
      const sent: Sent = { res, built, log, durationMs: performance.now() - started };
      if (res.status >= 400) {
        if (!scripts.handles('after_error')) throw this.statusError(sent);
        const out = await scripts.afterError({ statusCode: res.status, reasonPhrase: STATUS_CODES[res.status] ?? '', content: res.body.toString('utf8') });
        const stop = this.#scriptResult('after_error', out.result);
        if (stop) return stop;
        const e = out.methodError;
        if (e.isSuccess) return { kind: 'response', sent, body: parseContent(e.content), headers: res.headers };
        if (e.isWarning && !e.isError) {
          return { kind: 'skipped', sent, warning: { code: 'SCRIPT_WARNING', message: `${statusReason(res.status)} (a warning, as the after_error script decided): ${bodyExcerpt(Buffer.from(e.content), this.masking.secrets)}` } };
        }
        throw this.statusError(sent);
      }
      let body = this.parse(sent);
      let headers = res.headers;
      if (scripts.handles('after_action')) {
        const request = seen ?? { ...splitRequestUrl(built.url), headers: built.headers, body: built.bodyValue };
        const out = await scripts.afterAction(request, { status: res.status, reason: STATUS_CODES[res.status] ?? '', headers: res.headers, body });
        const stop = this.#scriptResult('after_action', out.result);
        if (stop) return stop;
        body = out.response.body;
        headers = out.response.headers;
      }
      return { kind: 'response', sent, body, headers };
    }
  }

  /** The request as before_action left it: URL from endpoint + parameters, headers, body re-encoded. */
  #rebuild(built: BuiltRequest, req: ActionRequest): BuiltRequest {
    const headers = { ...req.headers };
    const out: BuiltRequest = { method: built.method, url: joinRequestUrl(req.endpoint, req.parameters), headers, bodyValue: req.body };
    try {
      new URL(out.url);
    } catch {
      throw new ScriptFailure('before_action', { message: 'method_endpoint is not a valid absolute URL' });
    }
    if (req.body === built.bodyValue && built.body !== undefined) out.body = built.body;
    else if (req.body !== undefined) {
      const encoded = typeof req.body === 'string' ? { body: req.body, contentType: 'text/plain; charset=utf-8' } : this.builder.encodeBody(req.body);
      if (encoded) {
        out.body = encoded.body;
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = encoded.contentType;
      }
    }
    if (out.body === undefined) for (const h of Object.keys(headers)) if (h.toLowerCase() === 'content-type' && built.body === undefined) delete headers[h];
    return out;
  }

  /** 4xx/5xx as a typed error with a redacted excerpt. */
  statusError(sent: Sent): MethodCallError {
    return new MethodCallError(this.method.id, {
      status: sent.res.status,
      reason: statusReason(sent.res.status),
      url: redactRequestUrl(sent.built.url, this.masking),
      method: sent.built.method,
      bodyExcerpt: bodyExcerpt(sent.res.body, this.masking.secrets),
      attempts: sent.res.attempts,
    });
  }

  parse(sent: Sent): unknown {
    return parseResponseBody(sent.res.body, sent.res.headers['content-type'], this.method.responseFormat, {
      url: () => redactRequestUrl(sent.built.url, this.masking),
      method: sent.built.method,
      secrets: this.masking.secrets,
    });
  }
}

// The per-call state shared by inbound pages and outbound chunks: prepared parameters and body,
// auth parts (with the OAuth2 token), what to redact, and one `send` that refreshes the token
// once on a 401 and retries once.
import { performance } from 'node:perf_hooks';
import { exchange } from './exchange.js';
import type { ExchangeLog, HttpSender } from './exchange.js';
import { MethodCallError, MethodInputError, statusReason } from './errors.js';
import { bodyExcerpt } from './http/errors.js';
import type { HttpResponse } from './http/http-client.js';
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
}

export interface Sent {
  res: HttpResponse;
  built: BuiltRequest;
  log: ExchangeLog & { response: ResponseLog };
  durationMs: number;
}

export class CallSession {
  readonly method: CompiledMethod;
  readonly builder: RequestBuilder;
  readonly prepared: PreparedCall;
  readonly masking: Masking & { secrets: string[] };
  readonly #ctx: MethodContext;
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
    this.prepared = this.builder.prepare({
      parameters: ctx.parameters ?? {},
      properties,
      fields: ctx.fields ?? {},
      authValues: values,
      vars: ctx.vars,
    });
    this.masking = {
      secrets: [...this.#auth.secrets(values), ...this.prepared.secrets],
      headers: new Set([...this.#auth.maskedHeaders, ...this.builder.maskedHeaders]),
      query: new Set([...this.#auth.maskedQuery, ...this.builder.maskedQuery]),
    };
    if (this.#auth.usesToken) {
      this.#tokens =
        ctx.tokenProvider ??
        this.#auth.tokenProvider?.({
          values,
          properties,
          scope: this.prepared.scope,
          deps: { http: ctx.http, cache: compiled.tokenCache, signal: ctx.signal, onExchange: ctx.onRequest },
        });
    }
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
      this.masking.secrets.push(token);
      if (this.#tokens instanceof OAuth2TokenProvider) this.masking.secrets.push(...this.#tokens.secrets);
    }
    this.#parts = this.#auth.parts(this.#ctx.auth.values, this.prepared.scope, token);
    return this.#parts;
  }

  /** Sends one request (one page or one chunk); a 401 with OAuth2 refreshes the token and retries once. */
  async send(page: PageState, bodyOverride?: { value: unknown }): Promise<Sent> {
    const started = performance.now();
    let parts = await this.#authParts(false);
    for (let retried = false; ; retried = true) {
      const built = this.builder.build(this.prepared, page, parts, bodyOverride);
      const { res, log } = await exchange(built, {
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
      if (res.status === 401 && this.#tokens && !retried) {
        parts = await this.#authParts(true);
        continue;
      }
      return { res, built, log, durationMs: performance.now() - started };
    }
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

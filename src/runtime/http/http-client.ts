// Guarded outbound HTTP for connector calls: SSRF guard on every hop, size cap, timeouts,
// retries (429 for every method, 5xx/network only when idempotent) and per-key rate limits.
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { setTimeout as delay } from 'node:timers/promises';
import { assertUrlAllowed, createGuardedLookup, SSRF_BLOCKED_CODE } from './ssrf-guard.js';
import type { Resolver, SsrfPolicy } from './ssrf-guard.js';
import {
  HttpBlockedError,
  HttpCallError,
  HttpNetworkError,
  HttpParseError,
  HttpStatusError,
  HttpTimeoutError,
  HttpTooLargeError,
  redact,
  redactUrl,
} from './errors.js';
import type { HttpCallErrorInit } from './errors.js';
import { RateLimiter } from './rate-limiter.js';
import type { RateLimits } from './rate-limiter.js';

export interface RetryOptions {
  /** Total attempts for 5xx / network / timeout failures of idempotent requests. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Extra attempts after 429 responses (any method: a 429 was not processed). */
  max429Retries: number;
  /** Wait when a 429 has no usable Retry-After. */
  default429DelayMs: number;
  /** Added to the wait when 429s persist (Cyclr: +1, 3, 7, 15, 30 min); the last entry repeats. */
  escalation429Ms: number[];
  /** A 429 asking for a longer wait than this is returned at once instead of blocking the caller. */
  max429DelayMs: number;
}

export interface AttemptInfo {
  attempt: number;
  method: string;
  /** Redacted URL of the last hop of this attempt. */
  url: string;
  status?: number;
  error?: HttpCallError;
  durationMs: number;
  /** Set when another attempt follows after this wait. */
  retryInMs?: number;
  retryReason?: 'rate_limited' | 'server_error' | 'network' | 'timeout';
}

export interface HttpClientOptions extends SsrfPolicy {
  allowPrivateNetwork: boolean;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  maxResponseBytes?: number;
  maxRedirects?: number;
  retry?: Partial<RetryOptions>;
  /** Injectable so tests do not wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injectable jitter source, [0, 1). */
  random?: () => number;
  /** Wall clock in ms, used for Retry-After dates and the default rate limiter. */
  now?: () => number;
  /** Custom DNS resolution (tests, split-horizon DNS); results still pass the guard. */
  resolve?: Resolver;
  /** Share one limiter between clients so limits hold across them. */
  rateLimiter?: RateLimiter;
  userAgent?: string;
  onAttempt?: (info: AttemptInfo) => void;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Overrides the method's idempotency (e.g. a POST search endpoint). */
  idempotent?: boolean;
  /** Values to mask in errors/logs; Authorization header values are added automatically. */
  secrets?: string[];
  signal?: AbortSignal;
  rateLimitKey?: string;
  rateLimits?: RateLimits;
  onAttempt?: (info: AttemptInfo) => void;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Final URL after redirects (not redacted). */
  url: string;
  attempts: number;
  timings: { startedAt: number; durationMs: number };
}

const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  max429Retries: 5,
  default429DelayMs: 60_000,
  escalation429Ms: [60_000, 180_000, 420_000, 900_000, 1_800_000],
  max429DelayMs: 3_600_000,
};

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Headers that must not follow a redirect to another origin.
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
const NOT_RETRYABLE_CODES = new Set(['ENOTFOUND', 'ERR_INVALID_URL', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

type Hop = Omit<HttpResponse, 'attempts' | 'timings'>;

export class HttpClient {
  private readonly agent: Agent;
  private readonly policy: SsrfPolicy;
  private readonly retry: RetryOptions;
  private readonly maxResponseBytes: number;
  private readonly maxRedirects: number;
  private readonly timeouts: Record<'connect' | 'headers' | 'body', number>;
  private readonly sleepFn: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly limiter: RateLimiter;

  constructor(private readonly options: HttpClientOptions) {
    this.policy = { allowPrivateNetwork: options.allowPrivateNetwork, isBlocked: options.isBlocked };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.maxResponseBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.timeouts = {
      connect: options.connectTimeoutMs ?? 10_000,
      headers: options.headersTimeoutMs ?? 30_000,
      body: options.bodyTimeoutMs ?? 30_000,
    };
    this.sleepFn = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.limiter = options.rateLimiter ?? new RateLimiter({ now: options.now, sleep: this.sleepFn });
    // One keep-alive Agent per client; the guarded lookup runs for every new connection.
    this.agent = new Agent({
      connect: { timeout: this.timeouts.connect, lookup: createGuardedLookup(this.policy, options.resolve) },
      headersTimeout: this.timeouts.headers,
      bodyTimeout: this.timeouts.body,
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const method = req.method.toUpperCase();
    const secrets = collectSecrets(req);
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(method);
    let failures = 0; // 5xx / network / timeout
    let throttled = 0; // 429

    for (let attempt = 1; ; attempt++) {
      const a0 = performance.now();
      const report = (info: Omit<AttemptInfo, 'attempt' | 'method' | 'durationMs'>) => {
        const full: AttemptInfo = { attempt, method, durationMs: performance.now() - a0, ...info };
        this.options.onAttempt?.(full);
        req.onAttempt?.(full);
      };

      let hop: Hop;
      try {
        hop = await this.exchange(req, method, secrets, attempt);
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason;
        const error = err instanceof HttpCallError ? err : this.toError(err, { url: req.url, method, secrets, attempt });
        const retryable = (error.kind === 'network' || error.kind === 'timeout') && !NOT_RETRYABLE_CODES.has(errorCode(err) ?? '');
        if (!(retryable && idempotent && ++failures < this.retry.maxAttempts)) {
          report({ url: error.url, error });
          throw error;
        }
        const wait = this.backoff(failures);
        report({ url: error.url, error, retryInMs: wait, retryReason: error.kind === 'timeout' ? 'timeout' : 'network' });
        await this.sleep(wait, req.signal);
        continue;
      }

      const url = redactUrl(hop.url, secrets);
      if (hop.status === 429 && throttled < this.retry.max429Retries) {
        const wait = this.delay429(throttled, hop.headers['retry-after']);
        if (wait <= this.retry.max429DelayMs) {
          throttled++;
          report({ url, status: 429, retryInMs: wait, retryReason: 'rate_limited' });
          await this.sleep(wait, req.signal);
          continue;
        }
      } else if (hop.status >= 500 && idempotent && ++failures < this.retry.maxAttempts) {
        // A Retry-After on a 5xx (typically 503) is honoured up to maxDelayMs.
        const asked = parseRetryAfter(hop.headers['retry-after'], this.now());
        const wait = asked === undefined ? this.backoff(failures) : Math.min(asked, this.retry.maxDelayMs);
        report({ url, status: hop.status, retryInMs: wait, retryReason: 'server_error' });
        await this.sleep(wait, req.signal);
        continue;
      }
      report({ url, status: hop.status });
      return { ...hop, attempts: attempt, timings: { startedAt, durationMs: performance.now() - t0 } };
    }
  }

  /** One attempt: the request plus any redirects, each hop re-checked by the guard. */
  private async exchange(req: HttpRequest, originalMethod: string, secrets: string[], attempt: number): Promise<Hop> {
    let method = originalMethod;
    let body = req.body;
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'Plexus' };
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    let url = this.parseUrl(req.url, undefined, { method, secrets, attempt });

    for (let hop = 0; ; hop++) {
      const ctx = { url: url.href, method, secrets, attempt };
      try {
        assertUrlAllowed(url, this.policy);
      } catch (err) {
        throw this.toError(err, ctx);
      }
      if (req.rateLimitKey && req.rateLimits) await this.limiter.acquire(req.rateLimitKey, req.rateLimits, req.signal);

      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { dispatcher: this.agent, method: method as Dispatcher.HttpMethod, headers, body, signal: req.signal });
      } catch (err) {
        throw this.toError(err, ctx);
      }

      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode) && typeof location === 'string' && location !== '') {
        await res.body.dump().catch(() => undefined);
        if (hop >= this.maxRedirects) {
          throw new HttpStatusError({ ...this.errInit(ctx), status: res.statusCode, reason: `too many redirects (max ${this.maxRedirects})` });
        }
        const next = this.parseUrl(location, url, ctx);
        // 303 (and 301/302 after a POST, as browsers do) turn into a body-less GET.
        if ((res.statusCode === 303 && method !== 'HEAD') || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          for (const h of ['content-type', 'content-length', 'content-encoding']) delete headers[h];
        }
        if (next.origin !== url.origin) {
          for (const [k, v] of Object.entries(headers)) {
            if (CREDENTIAL_HEADERS.has(k) || (req.secrets ?? []).some((s) => s && v.includes(s))) delete headers[k];
          }
        }
        url = next;
        continue;
      }

      return { status: res.statusCode, headers: flattenHeaders(res.headers), body: await this.readBody(res, ctx), url: url.href };
    }
  }

  /** Reads the body but never holds more than maxResponseBytes: aborts the stream beyond it. */
  private async readBody(res: Dispatcher.ResponseData, ctx: ErrCtx): Promise<Buffer> {
    const max = this.maxResponseBytes;
    const tooLarge = (size: string) => {
      res.body.on('error', () => undefined); // destroy() emits an abort error nobody else listens for
      res.body.destroy();
      return new HttpTooLargeError({ ...this.errInit(ctx), status: res.statusCode, reason: `response body (${size}) exceeds ${max} bytes` });
    };
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) throw tooLarge(`content-length ${declared}`);
    if (Number.isFinite(declared) && res.headers['content-length'] !== undefined) {
      // A declared length within the cap: undici reads it in one go (cheaper than iterating), and
      // it refuses a body longer than its declared length, so the cap still holds.
      try {
        return Buffer.from(await res.body.arrayBuffer());
      } catch (err) {
        throw err instanceof HttpCallError ? err : this.toError(err, ctx);
      }
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > max) throw tooLarge(`more than ${max} bytes read`);
        chunks.push(chunk);
      }
    } catch (err) {
      throw err instanceof HttpCallError ? err : this.toError(err, ctx);
    }
    return Buffer.concat(chunks, size);
  }

  private parseUrl(text: string, base: URL | undefined, ctx: Omit<ErrCtx, 'url'>): URL {
    try {
      return new URL(text, base);
    } catch (err) {
      const what = base ? 'redirect Location' : 'URL';
      throw new HttpParseError({ ...this.errInit({ ...ctx, url: base?.href ?? text }), reason: `invalid ${what}: ${redact(text, ctx.secrets).slice(0, 200)}`, cause: err });
    }
  }

  private errInit(ctx: ErrCtx): Omit<HttpCallErrorInit, 'reason'> {
    return { url: redactUrl(ctx.url, ctx.secrets), method: ctx.method, attempts: ctx.attempt };
  }

  private toError(err: unknown, ctx: ErrCtx): HttpCallError {
    const init = this.errInit(ctx);
    const code = errorCode(err);
    const message = redact(err instanceof Error ? err.message : String(err), ctx.secrets);
    if (code === SSRF_BLOCKED_CODE) return new HttpBlockedError({ ...init, reason: message, cause: err });
    const phase = TIMEOUT_CODES[code ?? ''];
    if (phase) {
      return new HttpTimeoutError(phase, { ...init, reason: `${phase} timeout after ${this.timeouts[phase]} ms`, cause: err });
    }
    return new HttpNetworkError({ ...init, reason: code ? `${code}: ${message}` : message, cause: err });
  }

  private backoff(failures: number): number {
    // Exponential backoff with full jitter.
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (failures - 1));
    return Math.floor(this.random() * cap);
  }

  /** Retry-After (or the default), plus Cyclr's escalation when 429s persist. */
  private delay429(previous429Retries: number, retryAfter: string | string[] | undefined): number {
    const base = parseRetryAfter(retryAfter, this.now()) ?? this.retry.default429DelayMs;
    if (previous429Retries === 0) return base;
    const steps = this.retry.escalation429Ms;
    return base + (steps.length ? steps[Math.min(previous429Retries - 1, steps.length - 1)]! : 0);
  }

  private async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    try {
      await this.sleepFn(ms, signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
    signal?.throwIfAborted();
  }
}

interface ErrCtx {
  url: string;
  method: string;
  secrets: string[];
  attempt: number;
}

const TIMEOUT_CODES: Record<string, 'connect' | 'headers' | 'body' | undefined> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'headers',
  UND_ERR_BODY_TIMEOUT: 'body',
};

/** The first `code` along the error's cause chain. */
function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Parses Retry-After (delta seconds or HTTP date) into ms from now. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v;
  return out;
}

/** Declared secrets plus credentials found in the Authorization headers. */
function collectSecrets(req: HttpRequest): string[] {
  const secrets = [...(req.secrets ?? [])];
  for (const [k, v] of Object.entries(req.headers ?? {})) {
    if (!CREDENTIAL_HEADERS.has(k.toLowerCase()) || !v) continue;
    secrets.push(v);
    const token = v.split(' ').slice(1).join(' ');
    if (token) secrets.push(token);
  }
  return secrets;
}

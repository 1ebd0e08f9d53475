// One logged HTTP exchange: the request goes through the guarded HttpClient and a redacted
// record of it (request, response or error, duration) is handed to the observer.
import { performance } from 'node:perf_hooks';
import { describeError } from './errors.js';
import type { ErrorInfo } from './errors.js';
import { requestLog, responseLog } from './redaction.js';
import type { Masking, RedactedRequestLog, ResponseLog } from './redaction.js';
import type { HttpClient, HttpResponse } from './http/http-client.js';
import type { RateLimits } from './http/rate-limiter.js';

/** The part of HttpClient the runtime uses (tests may pass a stub). */
export type HttpSender = Pick<HttpClient, 'send'>;

export interface ExchangeLog {
  purpose: 'method' | 'token';
  request: RedactedRequestLog;
  response?: ResponseLog;
  durationMs: number;
  attempts?: number;
  error?: ErrorInfo;
}

export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface ExchangeOptions {
  http: HttpSender;
  masking: Masking;
  purpose: ExchangeLog['purpose'];
  excerptChars: number;
  onExchange?: (log: ExchangeLog) => void;
  signal?: AbortSignal;
  idempotent?: boolean;
  rateLimitKey?: string;
  rateLimits?: RateLimits;
  /** Secrets that only the response reveals (tokens in a token response), masked in its log. */
  responseSecrets?: (res: HttpResponse) => string[];
}

export interface Exchanged {
  res: HttpResponse;
  log: ExchangeLog & { response: ResponseLog };
}

/** A value computed on first read (and kept): logs nobody reads cost nothing. */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      value = make();
      done = true;
    }
    return value as T;
  };
}

export async function exchange(req: OutgoingRequest, opts: ExchangeOptions): Promise<Exchanged> {
  const started = performance.now();
  const request = lazy(() => requestLog(req, opts.masking, opts.excerptChars));
  let res: HttpResponse;
  try {
    res = await opts.http.send({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: req.body,
      secrets: [...opts.masking.secrets],
      signal: opts.signal,
      idempotent: opts.idempotent,
      rateLimitKey: opts.rateLimitKey,
      rateLimits: opts.rateLimitKey ? opts.rateLimits : undefined,
    });
  } catch (err) {
    opts.onExchange?.({ purpose: opts.purpose, request: request(), durationMs: performance.now() - started, error: describeError(err, opts.masking.secrets) });
    throw err;
  }
  const durationMs = performance.now() - started;
  const masking = opts.responseSecrets ? { ...opts.masking, secrets: [...opts.masking.secrets, ...opts.responseSecrets(res)] } : opts.masking;
  const response = lazy(() => responseLog(res, masking, opts.excerptChars));
  // Observed exchanges are built at once (an observer may keep them, and must not keep the body
  // alive through a closure); unobserved ones only when a page's logs are read.
  const log = opts.onExchange
    ? { purpose: opts.purpose, request: request(), response: response(), durationMs, attempts: res.attempts }
    : {
        purpose: opts.purpose,
        get request() {
          return request();
        },
        get response() {
          return response();
        },
        durationMs,
        attempts: res.attempts,
      };
  opts.onExchange?.(log);
  return { res, log };
}

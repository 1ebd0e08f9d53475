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

export async function exchange(req: OutgoingRequest, opts: ExchangeOptions): Promise<Exchanged> {
  const started = performance.now();
  const request = requestLog(req, opts.masking, opts.excerptChars);
  try {
    const res = await opts.http.send({
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
    const masking = opts.responseSecrets ? { ...opts.masking, secrets: [...opts.masking.secrets, ...opts.responseSecrets(res)] } : opts.masking;
    const log = {
      purpose: opts.purpose,
      request,
      response: responseLog(res, masking, opts.excerptChars),
      durationMs: performance.now() - started,
      attempts: res.attempts,
    };
    opts.onExchange?.(log);
    return { res, log };
  } catch (err) {
    opts.onExchange?.({ purpose: opts.purpose, request, durationMs: performance.now() - started, error: describeError(err, opts.masking.secrets) });
    throw err;
  }
}

// Typed outbound-HTTP failures. Everything stored on an error is already redacted, because
// errors end up in step-run logs and API responses.

export type HttpErrorKind = 'status' | 'timeout' | 'network' | 'blocked' | 'too_large' | 'parse';
export type TimeoutPhase = 'connect' | 'headers' | 'body';

export const REDACTED = '[REDACTED]';
const EXCERPT_MAX = 500;

export interface HttpCallErrorInit {
  reason: string;
  /** Redacted URL (use `redactUrl`). */
  url: string;
  method?: string;
  status?: number;
  /** Redacted, at most ~500 chars (use `bodyExcerpt`). */
  bodyExcerpt?: string;
  attempts?: number;
  cause?: unknown;
}

export class HttpCallError extends Error {
  readonly kind: HttpErrorKind;
  readonly reason: string;
  readonly url: string;
  readonly method: string;
  readonly status?: number;
  readonly bodyExcerpt?: string;
  readonly attempts: number;

  constructor(kind: HttpErrorKind, init: HttpCallErrorInit) {
    const method = init.method ?? 'GET';
    super(`${method} ${init.url} failed (${kind}): ${init.reason}`, { cause: init.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.reason = init.reason;
    this.url = init.url;
    this.method = method;
    this.status = init.status;
    this.bodyExcerpt = init.bodyExcerpt;
    this.attempts = init.attempts ?? 1;
  }
}

/** Non-success status the caller chose to treat as a failure (see `statusError`), or a redirect failure. */
export class HttpStatusError extends HttpCallError {
  declare readonly kind: 'status';
  constructor(init: HttpCallErrorInit & { status: number }) {
    super('status', init);
  }
}

export class HttpTimeoutError extends HttpCallError {
  declare readonly kind: 'timeout';
  constructor(readonly phase: TimeoutPhase, init: HttpCallErrorInit) {
    super('timeout', init);
  }
}

export class HttpNetworkError extends HttpCallError {
  declare readonly kind: 'network';
  constructor(init: HttpCallErrorInit) {
    super('network', init);
  }
}

export class HttpBlockedError extends HttpCallError {
  declare readonly kind: 'blocked';
  constructor(init: HttpCallErrorInit) {
    super('blocked', init);
  }
}

export class HttpTooLargeError extends HttpCallError {
  declare readonly kind: 'too_large';
  constructor(init: HttpCallErrorInit) {
    super('too_large', init);
  }
}

export class HttpParseError extends HttpCallError {
  declare readonly kind: 'parse';
  constructor(init: HttpCallErrorInit) {
    super('parse', init);
  }
}

/** The forms in which a secret may show up in text: raw, base64, base64url, URL- and form-encoded. */
function secretForms(secret: string): string[] {
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  return [
    secret,
    b64,
    b64.replace(/=+$/, ''),
    Buffer.from(secret, 'utf8').toString('base64url'),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
  ];
}

/** Encoded forms of a set of secrets, longest first; remembered per set (every log line of a call redacts with the same one). */
const formsCache = new Map<string, readonly string[]>();
const FORMS_CACHE_MAX = 512;

function formsOf(secrets: readonly string[]): readonly string[] {
  if (secrets.length === 0) return [];
  const key = secrets.join('\u0000');
  let forms = formsCache.get(key);
  if (!forms) {
    // Longest first, so a secret that contains another one is masked whole.
    forms = [...new Set(secrets.filter((s) => s.length > 0).flatMap(secretForms))].filter(Boolean).sort((a, b) => b.length - a.length);
    if (formsCache.size >= FORMS_CACHE_MAX) formsCache.clear();
    formsCache.set(key, forms);
  }
  return forms;
}

/** Replaces every given secret (and its encoded forms) with [REDACTED]. */
export function redact(text: string, secrets: readonly string[]): string {
  for (const form of formsOf(secrets)) {
    if (text.includes(form)) text = text.split(form).join(REDACTED);
  }
  return text;
}

// Query parameter names whose values are treated as secrets even when not declared.
const SECRET_PARAM = /key|token|secret|passw|pwd|signature|^sig$|auth|session|credential|^code$/i;

/** Redacts a URL for logs: declared secrets, secret-looking query values and the userinfo password. */
export function redactUrl(url: string, secrets: readonly string[] = []): string {
  let out = url;
  try {
    const u = new URL(url);
    if (u.password) u.password = 'REDACTED';
    const [base, query] = splitQuery(u.href);
    out = query === undefined ? base : `${base}?${maskQuery(query)}`;
  } catch {
    // Not a URL: fall back to plain secret redaction.
  }
  return redact(out, secrets);
}

function splitQuery(href: string): [string, string | undefined] {
  const hash = href.indexOf('#');
  const noHash = hash >= 0 ? href.slice(0, hash) : href;
  const q = noHash.indexOf('?');
  return q >= 0 ? [noHash.slice(0, q), noHash.slice(q + 1)] : [noHash, undefined];
}

function maskQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // keep raw name
      }
      return SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
}

/** A redacted excerpt of a response body, at most `max` characters (plus an ellipsis). */
export function bodyExcerpt(body: Buffer | string, secrets: readonly string[], max = EXCERPT_MAX): string {
  // Redact a window longer than `max` so a secret cut at the boundary is still caught whole.
  const window = max + (formsOf(secrets)[0]?.length ?? 0);
  const source = typeof body === 'string' ? body : body.subarray(0, window * 4).toString('utf8');
  const more = typeof body === 'string' ? body.length > window : body.length > window * 4;
  const text = redact(source.slice(0, window), secrets);
  return text.length > max || more || source.length > window ? `${text.slice(0, max)}…` : text;
}

/**
 * Turns a response the caller considers failed (e.g. a 4xx) into an `HttpStatusError`
 * with a redacted body excerpt and URL.
 */
export function statusError(
  res: { status: number; body: Buffer | string; url: string; attempts?: number },
  opts: { method?: string; secrets?: readonly string[]; reason?: string } = {},
): HttpStatusError {
  const secrets = opts.secrets ?? [];
  return new HttpStatusError({
    status: res.status,
    reason: opts.reason ?? `HTTP ${res.status}`,
    url: redactUrl(res.url, secrets),
    method: opts.method,
    bodyExcerpt: bodyExcerpt(res.body, secrets),
    attempts: res.attempts,
  });
}

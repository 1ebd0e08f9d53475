// What a request/response looks like in logs and test results: credential headers and secret
// query values masked, every known secret (in any encoding) replaced, bodies cut to an excerpt.
import { REDACTED, bodyExcerpt, redact, redactUrl } from './http/errors.js';

export interface RedactedRequestLog {
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyExcerpt?: string;
}

export interface ResponseLog {
  status: number;
  headers: Record<string, string>;
  bodyExcerpt: string;
}

/** Header names whose values are never shown, whatever they contain. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
]);

export interface Masking {
  secrets: readonly string[];
  /** Extra header names (lower case) to mask: the apiKey header, sensitive header parameters. */
  headers: ReadonlySet<string>;
  /** Query parameter names to mask: the apiKey query name, sensitive query parameters. */
  query: ReadonlySet<string>;
}

export function redactHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, masking: Masking): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const lower = name.toLowerCase();
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    out[name] = CREDENTIAL_HEADERS.has(lower) || masking.headers.has(lower) ? REDACTED : redact(value, masking.secrets);
  }
  return out;
}

function maskQueryNames(url: string, names: ReadonlySet<string>): string {
  const q = url.indexOf('?');
  if (q < 0 || names.size === 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const masked = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // keep the raw name
      }
      return names.has(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${masked}${hash < 0 ? '' : url.slice(hash)}`;
}

export function redactRequestUrl(url: string, masking: Masking): string {
  return redactUrl(maskQueryNames(url, masking.query), masking.secrets);
}

export function requestLog(
  req: { method: string; url: string; headers: Readonly<Record<string, string>>; body?: string | Buffer },
  masking: Masking,
  excerptChars: number,
): RedactedRequestLog {
  const log: RedactedRequestLog = {
    method: req.method,
    url: redactRequestUrl(req.url, masking),
    headers: redactHeaders(req.headers, masking),
  };
  if (req.body !== undefined && req.body.length > 0) log.bodyExcerpt = bodyExcerpt(req.body, masking.secrets, excerptChars);
  return log;
}

export function responseLog(
  res: { status: number; headers: Readonly<Record<string, string | string[]>>; body: Buffer },
  masking: Masking,
  excerptChars: number,
): ResponseLog {
  return {
    status: res.status,
    headers: redactHeaders(res.headers, masking),
    bodyExcerpt: res.body.length === 0 ? '' : bodyExcerpt(res.body, masking.secrets, excerptChars),
  };
}

// What the host provides to the scripts of one execution: outbound HTTP (through the guarded
// client, with the connector's auth), key/value storage, and the secrets to keep out of sight.
import type { HttpRequest, HttpResponse } from '../runtime/http/http-client.js';
import { HttpCallError } from '../runtime/http/errors.js';

/** `http_request({method, url, parameters, headers, data})`, as the script passes it. */
export interface ScriptHttpRequest {
  method: string;
  url: string;
  /** Query parameters added to the URL (arrays repeat the name). */
  parameters?: Record<string, string | number | boolean | null | Array<string | number | boolean>>;
  headers?: Record<string, string>;
  /** The body: a string is sent as is; anything else as JSON (content-type application/json unless set). */
  data?: unknown;
}

/** What `http_request` returns to the script. */
export interface ScriptHttpResponse {
  status_code: number;
  headers: Record<string, string | string[]>;
  /** The response body as text (JSON is not parsed: `JSON.parse(response.content)`). */
  content: string;
  /** The request as the script asked for it (host-added credentials are not shown). */
  request: { method: string; url: string; headers: Record<string, string>; data?: string };
}

/** Key/value storage of one scope (connector or cycle). Values are JSON data. */
export interface KeyValueStore {
  /** The value, or null when the key is not set. */
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
  /** Number of keys removed. */
  deleteAll(): Promise<number>;
  listKeys(): Promise<string[]>;
  listValues(): Promise<unknown[]>;
  /** Appends to the array stored at the key (a missing key starts one; a non-array value becomes its first item). */
  append(key: string, value: unknown): Promise<unknown[]>;
  /** Adds to the number stored at the key (missing = 0) and returns the new number. */
  increment(key: string, by: number): Promise<number>;
}

export interface ScriptHost {
  /** Performs a script's http_request. Absent: http_request throws "not available". */
  httpRequest?(req: ScriptHttpRequest, opts: { signal: AbortSignal }): Promise<ScriptHttpResponse>;
  /** `cyclr_storage_*` uses `connector`, `cycle_storage_*` uses `cycle`; absent scopes throw "not available". */
  storage?: { connector?: KeyValueStore; cycle?: KeyValueStore };
  /** Values never shown to scripts (masked in their input) nor in their messages and logs. */
  secrets?: readonly string[];
}

export const MAX_STORAGE_KEY_CHARS = 255;
export const MAX_STORAGE_VALUE_BYTES = 1024 * 1024;
export const MAX_STORAGE_KEYS_PER_SCOPE = 10_000;

// ---- an in-memory store (connector testing, tests) ----
export class MemoryKeyValueStore implements KeyValueStore {
  readonly #data = new Map<string, string>();

  async get(key: string): Promise<unknown> {
    const v = this.#data.get(key);
    return v === undefined ? null : (JSON.parse(v) as unknown);
  }

  async set(key: string, value: unknown): Promise<void> {
    if (!this.#data.has(key) && this.#data.size >= MAX_STORAGE_KEYS_PER_SCOPE) throw new Error(`storage: at most ${MAX_STORAGE_KEYS_PER_SCOPE} keys per scope`);
    this.#data.set(key, JSON.stringify(value ?? null));
  }

  async delete(key: string): Promise<boolean> {
    return this.#data.delete(key);
  }

  async deleteAll(): Promise<number> {
    const n = this.#data.size;
    this.#data.clear();
    return n;
  }

  async listKeys(): Promise<string[]> {
    return [...this.#data.keys()].sort();
  }

  async listValues(): Promise<unknown[]> {
    return [...this.#data.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => JSON.parse(v) as unknown);
  }

  async append(key: string, value: unknown): Promise<unknown[]> {
    const cur = await this.get(key);
    const list = Array.isArray(cur) ? cur : cur === null ? [] : [cur];
    list.push(value ?? null);
    await this.set(key, list);
    return list;
  }

  async increment(key: string, by: number): Promise<number> {
    const cur = await this.get(key);
    const next = (typeof cur === 'number' ? cur : Number(cur ?? 0) || 0) + by;
    await this.set(key, next);
    return next;
  }
}

// ---- http_request through the runtime's guarded HttpClient ----
export interface HttpScriptHostOptions {
  /** The guarded client (SSRF guard, size caps, retries); tests may pass a stub. */
  http: { send(req: HttpRequest): Promise<HttpResponse> };
  /**
   * Adds the connector's credentials to a request. Called only for URLs whose origin is in
   * `authOrigins` (the connector's API), so a script cannot send them anywhere else.
   */
  authorize?: (req: HttpRequest) => HttpRequest | Promise<HttpRequest>;
  authOrigins?: readonly string[];
  storage?: ScriptHost['storage'];
  secrets?: readonly string[];
  rateLimitKey?: string;
  rateLimits?: HttpRequest['rateLimits'];
  userAgent?: string;
}

function scalar(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function buildScriptUrl(url: string, parameters: ScriptHttpRequest['parameters']): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(parameters ?? {})) {
    if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, scalar(item));
    else if (v !== undefined) u.searchParams.append(k, scalar(v));
  }
  return u.href;
}

/** A ScriptHost whose http_request goes through the runtime's guarded client. */
export function createHttpScriptHost(options: HttpScriptHostOptions): ScriptHost {
  const origins = new Set((options.authOrigins ?? []).map((o) => new URL(o).origin));
  return {
    secrets: options.secrets,
    storage: options.storage,
    async httpRequest(req, { signal }) {
      const method = (req.method || 'GET').toUpperCase();
      const url = buildScriptUrl(req.url, req.parameters);
      const headers: Record<string, string> = { ...(req.headers ?? {}) };
      let body: string | undefined;
      if (req.data !== undefined && req.data !== null && method !== 'GET' && method !== 'HEAD') {
        if (typeof req.data === 'string') body = req.data;
        else {
          body = JSON.stringify(req.data);
          if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
        }
      }
      let outgoing: HttpRequest = {
        method,
        url,
        headers,
        body,
        secrets: [...(options.secrets ?? [])],
        signal,
        rateLimitKey: options.rateLimitKey,
        rateLimits: options.rateLimits,
      };
      if (options.authorize && origins.has(new URL(url).origin)) outgoing = await options.authorize(outgoing);
      try {
        const res = await options.http.send(outgoing);
        return {
          status_code: res.status,
          headers: res.headers,
          content: res.body.toString('utf8'),
          request: { method, url, headers: { ...(req.headers ?? {}) }, ...(body !== undefined ? { data: body } : {}) },
        };
      } catch (err) {
        // HttpCallError messages are already redacted; the SSRF guard's refusal is one of them.
        if (err instanceof HttpCallError) throw new Error(`http_request: ${err.message}`);
        if (signal.aborted) throw new Error('http_request: the script ran out of time');
        throw new Error(`http_request failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}

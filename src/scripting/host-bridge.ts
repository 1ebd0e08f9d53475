// The host side of one execution: checks every call a script makes (names, argument shapes, caps,
// deadline) before it reaches the ScriptHost, and turns every failure into a redacted message.
import type { HostBridge } from './engines/engine.js';
import type { ScriptLimits } from './limits.js';
import type { SecretMasker } from './secrets.js';
import { MAX_STORAGE_KEY_CHARS, MAX_STORAGE_VALUE_BYTES } from './script-host.js';
import type { KeyValueStore, ScriptHost, ScriptHttpRequest } from './script-host.js';

/** Largest http_request body (characters) a script may send. */
export const MAX_HTTP_BODY_CHARS = 10 * 1024 * 1024;

export class ExecutionBridge implements HostBridge {
  httpCalls = 0;
  storageCalls = 0;
  /** Set when a cap was hit: the execution fails even if the script caught the error. */
  limitHit?: string;
  /** Set when a host call found the deadline passed. */
  timedOut = false;
  readonly #host: ScriptHost | undefined;
  readonly #limits: ScriptLimits;
  /** When the sandbox started the execution (epoch ms); 0 before. */
  startedAt = 0;
  #deadline = Number.POSITIVE_INFINITY;
  readonly #masker: SecretMasker;

  constructor(host: ScriptHost | undefined, limits: ScriptLimits, masker: SecretMasker) {
    this.#host = host;
    this.#limits = limits;
    this.#masker = masker;
  }

  begin(deadline: number): void {
    this.startedAt = Date.now();
    this.#deadline = deadline;
  }

  async call(name: string, argsJson: string): Promise<string> {
    try {
      if (Date.now() >= this.#deadline) {
        this.timedOut = true;
        throw new Error('the script ran out of time');
      }
      const args = JSON.parse(argsJson) as unknown[];
      if (!Array.isArray(args)) throw new Error('bad arguments');
      let value: unknown;
      if (name === 'http_request') value = await this.#http(args[0]);
      else if (name === 'storage') value = await this.#storage(args);
      else throw new Error('unknown host function');
      return JSON.stringify({ value: value === undefined ? null : value });
    } catch (err) {
      return JSON.stringify({ error: this.#masker.redact(err instanceof Error ? err.message : String(err)) });
    }
  }

  async #http(raw: unknown): Promise<unknown> {
    if (++this.httpCalls > this.#limits.maxHttpRequests) {
      this.limitHit = `http_request: more than ${this.#limits.maxHttpRequests} calls in one execution`;
      throw new Error(this.limitHit);
    }
    const httpRequest = this.#host?.httpRequest?.bind(this.#host);
    if (!httpRequest) throw new Error('http_request is not available here');
    const req = validateHttpRequest(raw);
    const controller = new AbortController();
    const left = this.#deadline - Date.now();
    const timer = setTimeout(() => controller.abort(new Error('the script ran out of time')), Math.max(0, left));
    try {
      const res = await Promise.race([
        httpRequest(req, { signal: controller.signal }),
        new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(new Error('http_request: the script ran out of time')), { once: true })),
      ]);
      if (controller.signal.aborted) this.timedOut = true;
      return res;
    } catch (err) {
      if (controller.signal.aborted) this.timedOut = true;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async #storage(args: unknown[]): Promise<unknown> {
    if (++this.storageCalls > this.#limits.maxStorageCalls) {
      this.limitHit = `storage: more than ${this.#limits.maxStorageCalls} calls in one execution`;
      throw new Error(this.limitHit);
    }
    const [scope, op, key, value] = args;
    const fn = `${scope === 'cycle' ? 'cycle' : 'cyclr'}_storage_${String(op)}`;
    const store: KeyValueStore | undefined = scope === 'connector' ? this.#host?.storage?.connector : scope === 'cycle' ? this.#host?.storage?.cycle : undefined;
    if (!store) throw new Error(`${fn} is not available here`);
    const needKey = () => {
      if (typeof key !== 'string' && typeof key !== 'number') throw new Error(`${fn}: the key must be a string`);
      const k = String(key);
      if (k.length === 0 || k.length > MAX_STORAGE_KEY_CHARS) throw new Error(`${fn}: the key must have 1 to ${MAX_STORAGE_KEY_CHARS} characters`);
      return k;
    };
    const needValue = () => {
      const size = JSON.stringify(value ?? null).length;
      if (size > MAX_STORAGE_VALUE_BYTES) throw new Error(`${fn}: the value is larger than ${MAX_STORAGE_VALUE_BYTES} bytes`);
      return value ?? null;
    };
    const amount = () => {
      const n = value === undefined || value === null ? 1 : Number(value);
      if (!Number.isFinite(n)) throw new Error(`${fn}: the amount must be a number`);
      return n;
    };
    switch (op) {
      case 'get':
        return store.get(needKey());
      case 'set':
        await store.set(needKey(), needValue());
        return true;
      case 'append':
        return store.append(needKey(), needValue());
      case 'delete':
        return store.delete(needKey());
      case 'delete_all':
        return store.deleteAll();
      case 'list_keys':
        return store.listKeys();
      case 'list_values':
        return store.listValues();
      case 'increment':
        return store.increment(needKey(), amount());
      case 'decrement':
        return store.increment(needKey(), -amount());
      default:
        throw new Error(`${fn} does not exist`);
    }
  }
}

function validateHttpRequest(raw: unknown): ScriptHttpRequest {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('http_request: pass an object {method, url, parameters, headers, data}');
  const r = raw as Record<string, unknown>;
  const method = r.method === undefined || r.method === null ? 'GET' : String(r.method).toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(method)) throw new Error('http_request: invalid method');
  if (typeof r.url !== 'string' || !/^https?:\/\//i.test(r.url)) throw new Error('http_request: url must be an http(s) URL');
  try {
    new URL(r.url);
  } catch {
    throw new Error('http_request: url is not a valid URL');
  }
  const headers: Record<string, string> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object' || Array.isArray(r.headers)) throw new Error('http_request: headers must be an object');
    for (const [k, v] of Object.entries(r.headers)) {
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(k)) throw new Error(`http_request: invalid header name ${JSON.stringify(k).slice(0, 40)}`);
      const text = v === null || v === undefined ? '' : String(v);
      if (/[\r\n\0]/.test(text)) throw new Error(`http_request: invalid value for header ${k}`);
      headers[k] = text;
    }
  }
  let parameters: ScriptHttpRequest['parameters'];
  if (r.parameters !== undefined && r.parameters !== null) {
    if (typeof r.parameters !== 'object' || Array.isArray(r.parameters)) throw new Error('http_request: parameters must be an object');
    parameters = r.parameters as ScriptHttpRequest['parameters'];
  }
  if (typeof r.data === 'string' && r.data.length > MAX_HTTP_BODY_CHARS) throw new Error('http_request: data is too large');
  return { method, url: r.url, headers, parameters, data: r.data };
}

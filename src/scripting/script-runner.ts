// The scripting entry point: a ScriptRunner runs one event across the connector/method/step levels
// (or one inline expression) in a sandbox, with limits, and hands back typed results. The engine
// (isolated-vm matched to this Node, else QuickJS/wasm) is chosen once, at start-up.
import { createHash } from 'node:crypto';
import { EVENT_SPECS, isScriptEvent } from './events.js';
import type { GlobalName, ScriptEvent, ScriptGlobals, ScriptLevel } from './events.js';
import type { DriverEnvelope, DriverError, DriverLevel } from './driver.js';
import { ExecutionBridge } from './host-bridge.js';
import { rewriteInlineExpression } from './inline-expression.js';
import { DEFAULT_LIMITS, MAX_ERROR_CHARS, MAX_LOG_CHARS, MAX_SOURCE_CHARS, resolveLimits } from './limits.js';
import type { ScriptLimits } from './limits.js';
import { SecretMasker } from './secrets.js';
import type { ScriptHost } from './script-host.js';
import { selectEngine } from './engines/select-engine.js';
import { DEFAULT_SPIN_MICROS } from './engines/engine.js';
import type { EngineInfo, EngineName, EngineStats, SandboxEngine, SandboxOutcome } from './engines/engine.js';

export interface ScriptSources {
  connector?: string | null;
  method?: string | null;
  step?: string | null;
}

export interface ScriptLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

export type ScriptErrorCode =
  /** The script threw (or a level's source failed to run). */
  | 'SCRIPT_ERROR'
  /** A level's source does not compile. */
  | 'SCRIPT_SYNTAX'
  | 'SCRIPT_TIMEOUT'
  | 'SCRIPT_MEMORY'
  /** Too many http_request or storage calls. */
  | 'SCRIPT_LIMIT'
  | 'SCRIPT_OUTPUT_TOO_LARGE'
  /** The input could not be handed to the script (too large, not JSON). */
  | 'SCRIPT_INPUT'
  /** The sandbox failed for another reason; it has been replaced. */
  | 'SCRIPT_CRASHED';

export interface ScriptErrorInfo {
  code: ScriptErrorCode;
  /** Redacted: never contains a known secret. */
  message: string;
  /** The level whose code raised it. */
  level?: ScriptLevel | 'expression';
  line?: number;
  column?: number;
  /** The JavaScript error name (TypeError…). */
  name?: string;
}

export type ScriptResult =
  /** Every handler ran (or none exists). */
  | { kind: 'ok' }
  /** A handler returned `false` (before_action: abort the request; before_webhook: answer with the script's response; after_webhook: ignore the delivery; action_condition: False route). */
  | { kind: 'false'; level: ScriptLevel }
  | { kind: 'error'; error: ScriptErrorInfo }
  /** `throw new AuthRefreshException()`: refresh the OAuth2 token, then retry. */
  | { kind: 'auth_refresh'; level?: ScriptLevel; message: string }
  /** `throw new AuthSessionException()`: re-run the post-install property lookup method, then retry. */
  | { kind: 'auth_session'; level?: ScriptLevel; message: string };

export interface RunEventRequest {
  event: ScriptEvent;
  sources: ScriptSources;
  /** The event's globals (others are dropped). JSON data: it is copied into the sandbox. */
  globals: ScriptGlobals;
  host?: ScriptHost;
  /**
   * Executions with the same key may share a warm sandbox context (global state is reset between
   * executions, but a script that tampers with built-ins affects later executions of the same key).
   * Use one key per trust boundary: `${partnerId}/${accountId}` (or `${partnerId}/test` for
   * connector testing). Never share a key between accounts.
   */
  isolationKey: string;
  limits?: Partial<ScriptLimits>;
  /**
   * Put masked secrets back into the globals handed back: `same-origin` only when `method_endpoint`
   * still points at the origin it had (before_action). Default `never`.
   */
  restoreSecrets?: 'never' | 'same-origin';
}

export interface RunEventResult {
  result: ScriptResult;
  /**
   * The event's writable globals after every handler ran (copies). Empty after an error; when no
   * level has a source, the writable globals given are returned as they are.
   */
  globals: ScriptGlobals;
  logs: ScriptLog[];
  /** Log lines beyond `maxLogEntries` (not kept). */
  droppedLogs: number;
  /** Levels whose handler ran, in order. */
  ran: ScriptLevel[];
  /** action_condition: true = True route. */
  route?: boolean;
  durationMs: number;
  /** Set when masked secrets were not put back because the request now goes to another origin. */
  secretsWithheld?: boolean;
}

export type EvalResult = { ok: true; value: unknown; logs: ScriptLog[] } | { ok: false; error: ScriptErrorInfo; logs: ScriptLog[] };

export interface EvalOptions {
  isolationKey: string;
  host?: ScriptHost;
  limits?: Partial<ScriptLimits>;
}

export interface ScriptProblem {
  line: number;
  column: number;
  message: string;
}

export interface ScriptRunner {
  readonly engine: EngineInfo;
  runEvent(req: RunEventRequest): Promise<RunEventResult>;
  /** An inline mapping script (`=…`); merge-field values are data (`fields`), never code. */
  evalExpression(expression: string, data: Record<string, unknown>, options: EvalOptions): Promise<EvalResult>;
  /** Compile errors of a script (for push-time validation: 422 with line and column). No code runs. */
  checkScript(source: string): Promise<ScriptProblem[]>;
  stats(): EngineStats;
  dispose(): Promise<void>;
}

export interface ScriptRunnerOptions {
  /** `auto` (default), or a required engine. */
  engine?: 'auto' | EngineName;
  /** Heap limit per sandbox, MB (default 64). */
  memoryMb?: number;
  /** Sandboxes side by side (default 2). */
  sandboxes?: number;
  /** Warm contexts kept per sandbox (default 32). */
  contextsPerSandbox?: number;
  /** Default per-execution limits. */
  limits?: Partial<ScriptLimits>;
  /**
   * Longest the host waits awake for a sandbox's answer, µs (default 500, or PLEXUS_SCRIPT_SPIN_US;
   * 0: never). Trades a little CPU for a much shorter wait on machines whose idle CPUs halt.
   */
  spinMicros?: number;
  /** JS libraries offered to scripts (`require(name)`, and a lazy global when `global` is set). */
  libraries?: Array<{ name: string; global?: string; source: string }>;
  /** Receives the engine choice at start-up (pino-compatible). Default: one line on stderr. */
  logger?: { info(obj: object, msg?: string): void } | null;
}

/** Largest payload (characters of JSON) handed into a sandbox. */
export const MAX_INPUT_CHARS = 32 * 1024 * 1024;
const HOST_CALL_RE = /http_request|_storage_/;

export async function createScriptRunner(options: ScriptRunnerOptions = {}): Promise<ScriptRunner> {
  const engine = await selectEngine({
    engine: options.engine,
    memoryMb: Math.min(1024, Math.max(8, Math.floor(options.memoryMb ?? 64))),
    sandboxes: Math.max(1, Math.floor(options.sandboxes ?? 2)),
    contextsPerSandbox: Math.max(1, Math.floor(options.contextsPerSandbox ?? 32)),
    spinMicros: Math.max(0, Math.floor(options.spinMicros ?? envSpinMicros() ?? DEFAULT_SPIN_MICROS)),
    driverConfig: { maxLogChars: MAX_LOG_CHARS, libraries: options.libraries ?? [] },
  });
  const info = engine.info;
  const line = { engine: info.name, version: info.version, module: info.module, reason: info.reason };
  if (options.logger) options.logger.info(line, `scripting engine: ${info.name} ${info.version}`);
  else if (options.logger === undefined) process.stderr.write(`scripting engine: ${info.name} ${info.version} (${info.reason})\n`);
  return new SandboxScriptRunner(engine, resolveLimits(options.limits ?? {}, DEFAULT_LIMITS));
}

/** Safe JSON.parse for sandbox output: `__proto__` keys are dropped, so nothing downstream can be polluted. */
export function parseSandboxJson<T>(text: string): T {
  return (text.includes('"__proto__"') ? JSON.parse(text, (k, v: unknown) => (k === '__proto__' ? undefined : v)) : JSON.parse(text)) as T;
}

function envSpinMicros(): number | undefined {
  const text = process.env.PLEXUS_SCRIPT_SPIN_US;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`PLEXUS_SCRIPT_SPIN_US must be a number of microseconds ≥ 0; got ${text}`);
  return n;
}

const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error']);

export class SandboxScriptRunner implements ScriptRunner {
  readonly #engine: SandboxEngine;
  readonly #defaults: ScriptLimits;
  readonly #hashes = new Map<string, string>();

  constructor(engine: SandboxEngine, defaults: ScriptLimits = DEFAULT_LIMITS) {
    this.#engine = engine;
    this.#defaults = defaults;
  }

  get engine(): EngineInfo {
    return this.#engine.info;
  }

  stats(): EngineStats {
    return this.#engine.stats();
  }

  #hash(source: string): string {
    let h = this.#hashes.get(source);
    if (!h) {
      h = createHash('sha1').update(source).digest('base64url');
      if (this.#hashes.size >= 2_000) this.#hashes.clear();
      this.#hashes.set(source, h);
    }
    return h;
  }

  async runEvent(req: RunEventRequest): Promise<RunEventResult> {
    const started = performance.now();
    if (!isScriptEvent(req.event)) throw new TypeError(`unknown script event ${String(req.event)}`);
    if (typeof req.isolationKey !== 'string' || req.isolationKey === '') throw new TypeError('runEvent needs an isolationKey');
    const spec = EVENT_SPECS[req.event];
    const limits = resolveLimits(req.limits, this.#defaults);
    const masker = new SecretMasker([...(req.host?.secrets ?? []), ...(typeof req.globals.method_auth_value === 'string' ? [req.globals.method_auth_value] : [])]);
    const done = (partial: Omit<RunEventResult, 'durationMs' | 'logs' | 'droppedLogs' | 'ran' | 'globals'> & Partial<RunEventResult>): RunEventResult => ({
      globals: {},
      logs: [],
      droppedLogs: 0,
      ran: [],
      ...partial,
      durationMs: performance.now() - started,
    });
    const fail = (error: ScriptErrorInfo, logs: ScriptLog[] = []) => done({ result: { kind: 'error', error: { ...error, message: clip(masker.redact(error.message)) } }, logs });

    const levels: Array<DriverLevel & { level: ScriptLevel; source: string }> = [];
    for (const level of spec.order) {
      const source = req.sources[level];
      if (typeof source !== 'string' || source.trim() === '') continue;
      if (source.length > MAX_SOURCE_CHARS) return fail({ code: 'SCRIPT_INPUT', message: `the ${level} script is larger than ${MAX_SOURCE_CHARS} characters`, level });
      levels.push({ level, hash: this.#hash(source), source });
    }
    if (levels.length === 0) {
      const globals: Record<string, unknown> = {};
      for (const k of spec.writable) if (req.globals[k] !== undefined) globals[k] = req.globals[k];
      return done({ result: { kind: 'ok' }, globals: globals as ScriptGlobals, ...(spec.stop === 'falsy' ? { route: true } : {}) });
    }

    // The event's documented globals only; method_auth_value travels apart (never masked, never returned).
    const input: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(req.globals)) {
      if (k !== 'method_auth_value' && spec.globals.has(k as GlobalName) && v !== undefined) input[k] = v;
    }
    let globalsJson: string;
    try {
      globalsJson = JSON.stringify(input);
    } catch (err) {
      return fail({ code: 'SCRIPT_INPUT', message: `the globals are not JSON data: ${(err as Error).message}` });
    }
    if (spec.maskSecrets) globalsJson = masker.mask(globalsJson);
    const auth = spec.globals.has('method_auth_value') && typeof req.globals.method_auth_value === 'string' ? req.globals.method_auth_value : undefined;
    const wantsHost = levels.some((l) => HOST_CALL_RE.test(l.source));
    const body = (async: boolean) =>
      `{"op":"event","async":${async},"maxLogs":${limits.maxLogEntries},"maxOut":${limits.maxOutputBytes},"event":"${spec.event}",` +
      `"ret":${JSON.stringify(spec.writable)},"stop":"${spec.stop}","globals":${globalsJson}${auth !== undefined ? `,"auth":${JSON.stringify(auth)}` : ''}}`;
    const first = body(wantsHost || this.#engine.hostCallsAlwaysAvailable);
    if (first.length > MAX_INPUT_CHARS) return fail({ code: 'SCRIPT_INPUT', message: `the script input (${first.length} characters) is larger than ${MAX_INPUT_CHARS}` });

    let bridge = new ExecutionBridge(req.host, limits, masker);
    let outcome = await this.#engine.run({ key: req.isolationKey, levels, body: first, timeoutMs: limits.timeoutMs, bridge }, wantsHost);
    if (outcome.kind === 'done' && outcome.envelope.includes('"needAsync":true')) {
      // A host call reached through an indirect name: run again where host calls work, with the
      // time left. Nothing happened on the host the first time (host calls are a script's only effects).
      const left = limits.timeoutMs - (Date.now() - bridge.startedAt);
      bridge = new ExecutionBridge(req.host, limits, masker);
      outcome = await this.#engine.run({ key: req.isolationKey, levels, body: body(true), timeoutMs: left, bridge }, true);
    }
    const mapped = this.#map(outcome, bridge, masker, limits);
    if ('error' in mapped) {
      if (mapped.auth) {
        const level = mapped.error.level !== 'expression' ? mapped.error.level : undefined;
        return done({ result: { kind: mapped.auth, ...(level ? { level } : {}), message: mapped.error.message }, logs: mapped.logs, droppedLogs: mapped.dropped });
      }
      if (mapped.error.code === 'SCRIPT_SYNTAX') await this.#locateSyntax(mapped.error, levels);
      return done({ result: { kind: 'error', error: mapped.error }, logs: mapped.logs, droppedLogs: mapped.dropped });
    }
    const r = mapped.r;
    if (!r.ok || !('ran' in r)) return fail({ code: 'SCRIPT_CRASHED', message: 'the sandbox returned an unexpected result' }, mapped.logs);
    // r.globals came out of parseSandboxJson (no `__proto__` keys); they are re-encoded only to put
    // masked secrets back.
    let globals = r.globals as ScriptGlobals;
    let secretsWithheld: boolean | undefined;
    if (req.restoreSecrets === 'same-origin' && !masker.empty && outcome.kind === 'done' && outcome.envelope.includes('[REDACTED:')) {
      const globalsText = JSON.stringify(r.globals);
      if (!globalsText.includes('[REDACTED:')) {
        // the mask appeared in the logs only
      } else if (sameOrigin(req.globals.method_endpoint, r.globals.method_endpoint)) globals = parseSandboxJson<ScriptGlobals>(masker.unmask(globalsText));
      else secretsWithheld = true;
    }
    const result: ScriptResult = r.stoppedAt ? { kind: 'false', level: r.stoppedAt as ScriptLevel } : { kind: 'ok' };
    return done({
      result,
      globals,
      logs: mapped.logs,
      droppedLogs: mapped.dropped,
      ran: r.ran as ScriptLevel[],
      ...(spec.stop === 'falsy' ? { route: r.condition } : {}),
      ...(secretsWithheld ? { secretsWithheld } : {}),
    });
  }

  async evalExpression(expression: string, data: Record<string, unknown>, options: EvalOptions): Promise<EvalResult> {
    if (typeof options?.isolationKey !== 'string' || options.isolationKey === '') throw new TypeError('evalExpression needs an isolationKey');
    const limits = resolveLimits(options.limits, this.#defaults);
    const masker = new SecretMasker(options.host?.secrets ?? []);
    const fields = data ?? {};
    const source = rewriteInlineExpression(String(expression), new Set(Object.keys(fields)));
    if (source.length > MAX_SOURCE_CHARS) return { ok: false, error: { code: 'SCRIPT_INPUT', message: 'the expression is too long', level: 'expression' }, logs: [] };
    let dataJson: string;
    try {
      dataJson = masker.mask(JSON.stringify(fields));
    } catch (err) {
      return { ok: false, error: { code: 'SCRIPT_INPUT', message: `the fields are not JSON data: ${(err as Error).message}` }, logs: [] };
    }
    const wantsHost = HOST_CALL_RE.test(source);
    const body = (async: boolean) =>
      `{"op":"expr","async":${async},"maxLogs":${limits.maxLogEntries},"maxOut":${limits.maxOutputBytes},"hash":"${this.#hash(source)}",` +
      `"source":${JSON.stringify(source)},"data":${dataJson}}`;
    const first = body(wantsHost || this.#engine.hostCallsAlwaysAvailable);
    if (first.length > MAX_INPUT_CHARS) return { ok: false, error: { code: 'SCRIPT_INPUT', message: 'the fields are too large' }, logs: [] };
    let bridge = new ExecutionBridge(options.host, limits, masker);
    let outcome = await this.#engine.run({ key: options.isolationKey, levels: [], body: first, timeoutMs: limits.timeoutMs, bridge }, wantsHost);
    if (outcome.kind === 'done' && outcome.envelope.includes('"needAsync":true')) {
      const left = limits.timeoutMs - (Date.now() - bridge.startedAt);
      bridge = new ExecutionBridge(options.host, limits, masker);
      outcome = await this.#engine.run({ key: options.isolationKey, levels: [], body: body(true), timeoutMs: left, bridge }, true);
    }
    const mapped = this.#map(outcome, bridge, masker, limits);
    if ('error' in mapped) return { ok: false, error: { ...mapped.error, level: mapped.error.level ?? 'expression' }, logs: mapped.logs };
    const r = mapped.r;
    if (!r.ok || !('value' in r)) return { ok: false, error: { code: 'SCRIPT_CRASHED', message: 'the sandbox returned an unexpected result' }, logs: mapped.logs };
    return { ok: true, value: r.value, logs: mapped.logs };
  }

  async checkScript(source: string): Promise<ScriptProblem[]> {
    if (typeof source !== 'string') return [{ line: 1, column: 1, message: 'the script must be text' }];
    if (source.length > MAX_SOURCE_CHARS) return [{ line: 1, column: 1, message: `the script is larger than ${MAX_SOURCE_CHARS} characters` }];
    return this.#engine.check(source);
  }

  dispose(): Promise<void> {
    return this.#engine.dispose();
  }

  /** Outcome → parsed result, or a typed error (limits and deadline take precedence over what the script did). */
  #map(
    outcome: SandboxOutcome,
    bridge: ExecutionBridge,
    masker: SecretMasker,
    limits: ScriptLimits,
  ):
    | { r: DriverEnvelope['r']; logs: ScriptLog[]; dropped: number }
    | { error: ScriptErrorInfo; auth?: 'auth_refresh' | 'auth_session'; logs: ScriptLog[]; dropped: number } {
    const timeout = (): ScriptErrorInfo => ({ code: 'SCRIPT_TIMEOUT', message: `the script did not finish within ${limits.timeoutMs} ms` });
    if (outcome.kind === 'timeout') return { error: timeout(), logs: [], dropped: 0 };
    if (outcome.kind === 'memory') return { error: { code: 'SCRIPT_MEMORY', message: 'the script exceeded its memory limit' }, logs: [], dropped: 0 };
    if (outcome.kind === 'crashed') return { error: { code: 'SCRIPT_CRASHED', message: clip(masker.redact(`the script sandbox failed: ${outcome.message}`)) }, logs: [], dropped: 0 };
    let env: DriverEnvelope;
    try {
      env = parseSandboxJson<DriverEnvelope>(outcome.envelope);
    } catch {
      return { error: { code: 'SCRIPT_CRASHED', message: 'the sandbox returned malformed output' }, logs: [], dropped: 0 };
    }
    const logs: ScriptLog[] = (Array.isArray(env.logs) ? env.logs : []).map((l) => ({
      level: LOG_LEVELS.has(l?.level) ? l.level : 'info',
      message: clip(masker.redact(String(l?.message ?? '')), MAX_LOG_CHARS + 1),
    })) as ScriptLog[];
    const dropped = Number(env.dropped) || 0;
    if (bridge.limitHit) return { error: { code: 'SCRIPT_LIMIT', message: bridge.limitHit }, logs, dropped };
    if (bridge.timedOut) return { error: timeout(), logs, dropped };
    const r = env.r;
    if (r && !r.ok && 'error' in r) {
      const auth = r.error?.kind === 'auth_refresh' || r.error?.kind === 'auth_session' ? r.error.kind : undefined;
      return { error: this.#driverError(r.error, masker), ...(auth ? { auth } : {}), logs, dropped };
    }
    if (r && !r.ok) return { error: { code: 'SCRIPT_CRASHED', message: 'the sandbox lost a compiled script' }, logs, dropped };
    return { r, logs, dropped };
  }

  #driverError(e: DriverError, masker: SecretMasker): ScriptErrorInfo {
    const message = clip(masker.redact(String(e?.message ?? 'script error')));
    const level = (['connector', 'method', 'step', 'expression'] as const).find((l) => l === e?.level);
    const base = {
      message,
      ...(level ? { level } : {}),
      ...(Number.isInteger(e?.line) && e.line! > 0 ? { line: e.line } : {}),
      ...(Number.isInteger(e?.column) && e.column! > 0 ? { column: e.column } : {}),
      ...(typeof e?.name === 'string' ? { name: e.name.slice(0, 100) } : {}),
    };
    switch (e?.kind) {
      case 'auth_refresh':
        return { ...base, code: 'SCRIPT_ERROR', name: 'AuthRefreshException' };
      case 'auth_session':
        return { ...base, code: 'SCRIPT_ERROR', name: 'AuthSessionException' };
      case 'syntax':
        return { ...base, code: 'SCRIPT_SYNTAX' };
      case 'output_too_large':
        return { ...base, code: 'SCRIPT_OUTPUT_TOO_LARGE' };
      default:
        return { ...base, code: 'SCRIPT_ERROR' };
    }
  }

  /** A source that failed to compile at run time: find where, with the compile check. */
  async #locateSyntax(error: ScriptErrorInfo, levels: Array<{ level: ScriptLevel; source: string }>): Promise<void> {
    const candidates = error.level && error.level !== 'expression' ? levels.filter((l) => l.level === error.level) : levels;
    for (const l of candidates) {
      const [problem] = await this.#engine.check(l.source);
      if (problem) {
        error.level = l.level;
        error.line = problem.line;
        error.column = problem.column;
        return;
      }
    }
  }
}

function clip(text: string, max = MAX_ERROR_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function sameOrigin(before: unknown, after: unknown): boolean {
  if (typeof before !== 'string' || typeof after !== 'string') return before === after || after === undefined;
  try {
    return new URL(before).origin === new URL(after).origin;
  } catch {
    return false;
  }
}

// The executor's hook for the Cyclr action events (docs/scripting.md §11). The runtime has no
// dependency on the scripting layer: a caller that has scripts passes an `ActionScripts` (the
// scripting layer's adapter over its EventDispatcher, one per method call, carrying
// `action_data`/`method_request_mergefields` from event to event); without one nothing runs.
import type { HttpRequest } from './http/http-client.js';

export type ActionScriptEvent = 'before_action' | 'after_action' | 'after_action_paging' | 'after_error' | 'action_condition';

/** A request as before_action/after_action see it. */
export interface ActionRequest {
  /** The URL without its query string (`method_endpoint`). */
  endpoint: string;
  headers: Record<string, string>;
  /** Query parameters (`method_request_parameters`); a repeated name is an array. */
  parameters: Record<string, unknown>;
  /** The body before encoding (`method_request`). */
  body?: unknown;
}

export interface ActionResponse {
  status: number;
  reason?: string;
  headers: Record<string, string | string[]>;
  /** The parsed body (`method_response`). */
  body: unknown;
}

/** What running an event's handlers came to (the scripting layer's ScriptResult, structurally). */
export type ActionScriptResult =
  | { kind: 'ok' }
  | { kind: 'false'; level?: string }
  | { kind: 'error'; error: { code?: string; message: string; level?: string; line?: number; column?: number } }
  | { kind: 'auth_refresh'; level?: string; message?: string }
  | { kind: 'auth_session'; level?: string; message?: string };

export interface ActionMethodError {
  statusCode: number;
  reasonPhrase: string;
  content: string;
  isError: boolean;
  isWarning: boolean;
  isSuccess: boolean;
}

/** What the connector's scripts may use of a call: its secrets and its credentials (for http_request). */
export interface ActionSession {
  /** Every secret of the call; the same array grows when a token is obtained. */
  readonly secrets: readonly string[];
  /** The origin of the method's requests (credentials are added to a script's http_request only there). */
  origin(): string | undefined;
  /** Adds the connector's credentials to a script's http_request. */
  authorize(req: HttpRequest): Promise<HttpRequest>;
}

export interface ActionScripts {
  /** Called once by the call that uses these scripts, before any event. */
  bind?(session: ActionSession): void;
  /** Whether some level has a handler for the event (the executor skips the others). */
  handles(event: ActionScriptEvent): boolean;
  beforeAction(request: ActionRequest, options: { authValue?: string; lastSuccessfulRunDate?: string | null }): Promise<{ result: ActionScriptResult; request: ActionRequest; credentialsWithheld?: boolean }>;
  afterAction(request: ActionRequest, response: ActionResponse): Promise<{ result: ActionScriptResult; response: ActionResponse }>;
  afterError(error: { statusCode: number; reasonPhrase: string; content: string }): Promise<{ result: ActionScriptResult; methodError: ActionMethodError }>;
  afterActionPaging(input: {
    body: unknown;
    request?: Pick<ActionRequest, 'headers' | 'parameters'>;
    lastSuccessfulRunDate?: string | null;
    nextLastSuccessfulRunDate?: string | null;
  }): Promise<{ result: ActionScriptResult; body: unknown; nextLastSuccessfulRunDate: string | null }>;
  actionCondition(body: unknown): Promise<{ result: ActionScriptResult; route: boolean }>;
}

/** What the scripts of one call decided beyond its records (reported once the call ends). */
export interface ScriptOutcome {
  /** after_action_paging's `next_last_successful_run_date`, when a script set it. */
  nextLastSuccessfulRunDate?: string | null;
  /** action_condition's route (true/false), when some level handles it. */
  route?: boolean;
  /** after_error `isWarning`, before_action `false`. */
  warnings: ScriptWarning[];
}

export interface ScriptWarning {
  code: 'SCRIPT_WARNING' | 'SCRIPT_ABORTED';
  message: string;
}

/** A script threw, or failed (timeout, memory…): the call fails with the script's (redacted) message. */
export class ScriptFailure extends Error {
  readonly kind = 'script' as const;
  readonly code: string;
  readonly event: ActionScriptEvent;
  readonly level?: string;
  readonly line?: number;
  readonly column?: number;
  constructor(event: ActionScriptEvent, error: { code?: string; message: string; level?: string; line?: number; column?: number }) {
    const where = [error.level ? `${error.level} level` : '', error.line !== undefined ? `line ${error.line}${error.column !== undefined ? `, column ${error.column}` : ''}` : ''].filter(Boolean).join(', ');
    super(`the ${event} script failed${where ? ` (${where})` : ''}: ${error.message}`);
    this.name = 'ScriptFailure';
    this.code = error.code ?? 'SCRIPT_ERROR';
    this.event = event;
    if (error.level !== undefined) this.level = error.level;
    if (error.line !== undefined) this.line = error.line;
    if (error.column !== undefined) this.column = error.column;
  }
}

/**
 * A script threw AuthSessionException and no new session could be started here (no post-install
 * property lookup to re-run, or it already ran once for this request). `name` and `kind` are what
 * the account-connector layer looks for.
 */
export class AuthSessionException extends Error {
  readonly kind = 'auth_session' as const;
  constructor(message = 'the script asked for a new session (AuthSessionException)') {
    super(message);
    this.name = 'AuthSessionException';
  }
}

/** Splits a URL into `method_endpoint` and `method_request_parameters` (a repeated name is an array). */
export function splitRequestUrl(url: string): { endpoint: string; parameters: Record<string, unknown> } {
  const hash = url.indexOf('#');
  const noHash = hash >= 0 ? url.slice(0, hash) : url;
  const q = noHash.indexOf('?');
  if (q < 0) return { endpoint: noHash, parameters: {} };
  const parameters: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(noHash.slice(q + 1))) {
    const cur = Object.prototype.hasOwnProperty.call(parameters, k) ? parameters[k] : undefined;
    if (cur === undefined) Object.defineProperty(parameters, k, { value: v, enumerable: true, writable: true, configurable: true });
    else parameters[k] = Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return { endpoint: noHash.slice(0, q), parameters };
}

/** Joins `method_endpoint` and `method_request_parameters` back into a URL. */
export function joinRequestUrl(endpoint: string, parameters: Record<string, unknown> = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(parameters)) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) qs.append(k, typeof item === 'object' ? JSON.stringify(item) : String(item));
  }
  const text = qs.toString();
  return text ? `${endpoint}${endpoint.includes('?') ? '&' : '?'}${text}` : endpoint;
}

/** The scripts that apply to one method call of a release, and its `script_parameters`. */
export interface ReleaseScriptSources {
  connector: string | null;
  method: string | null;
  /** Values of the parameters with target `script` (by name): given values, else their value/default. */
  scriptParameters: Record<string, string>;
}

/** The connector- and method-level scripts of a method, and its script parameters. */
export function releaseScriptSources(
  definition: { script?: string; parameters?: ReadonlyArray<ScriptParam>; methods?: ReadonlyArray<{ id: string; script?: string; parameters?: ReadonlyArray<ScriptParam> }> },
  methodId: string,
  given: Readonly<Record<string, string>> = {},
): ReleaseScriptSources {
  const method = definition.methods?.find((m) => m.id === methodId);
  const scriptParameters: Record<string, string> = {};
  for (const p of [...(definition.parameters ?? []), ...(method?.parameters ?? [])]) {
    if (p.target !== 'script') continue;
    const v = given[p.name] ?? p.default ?? p.value;
    if (v !== undefined) scriptParameters[p.targetName ?? p.name] = v;
  }
  return { connector: definition.script ?? null, method: method?.script ?? null, scriptParameters };
}

interface ScriptParam {
  name: string;
  target: string;
  targetName?: string;
  value?: string;
  default?: string;
}

/** Makes the ActionScripts of one call from the scripts that apply to it (undefined: no scripts). */
export type ActionScriptsFactory = (sources: ReleaseScriptSources) => ActionScripts | undefined;

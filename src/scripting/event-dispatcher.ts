// The executor's view of scripting: one EventDispatcher per method call (or webhook delivery, or
// OAuth2 exchange) knows the scripts of the three levels, the ids and parameters of the run and the
// host; each hook takes the runtime's request/response, runs the event's handlers in the documented
// order with the documented globals, and gives back what the scripts changed plus a typed result.
import { EVENT_SPECS } from './events.js';
import type { MethodError, ScriptEvent, ScriptExecutionContextName, ScriptGlobals, ScriptLevel } from './events.js';
import type { ScriptLimits } from './limits.js';
import { ScriptCallState } from './call-state.js';
import type { RunEventResult, ScriptLog, ScriptResult, ScriptRunner, ScriptSources } from './script-runner.js';
import type { ScriptHost } from './script-host.js';

export interface ScriptIds {
  cycleStepId?: string | null;
  cycleId?: string | null;
  /** Plexus account id (`cyclr_account_id`). */
  accountId?: string | null;
  /** The partner's own id of the account (`external_account_id`). */
  externalAccountId?: string | null;
  transactionId?: string | null;
}

export interface ScriptExecution {
  sources: ScriptSources;
  host?: ScriptHost;
  /** See RunEventRequest.isolationKey: `${partnerId}/${accountId}`. */
  isolationKey: string;
  ids?: ScriptIds;
  context?: ScriptExecutionContextName;
  scriptParameters?: Record<string, unknown>;
  cycleVariables?: Record<string, unknown>;
  /** `method_response_fields`: the method's response fields. */
  responseFields?: unknown[];
  limits?: Partial<ScriptLimits>;
}

/** A request as before_action/after_action see it. */
export interface ScriptRequest {
  /** The URL without its query string (`method_endpoint`). */
  endpoint: string;
  /** `method_request_headers` (credentials masked unless the script is before_action with method_auth_value). */
  headers: Record<string, string>;
  /** Query parameters (`method_request_parameters`); repeated names are arrays. */
  parameters: Record<string, unknown>;
  /** The body before encoding (`method_request`): an object for JSON/form/XML, text for text bodies. */
  body?: unknown;
}

export interface ScriptResponse {
  status: number;
  reason?: string;
  headers: Record<string, string | string[]>;
  /** The parsed body (`method_response`). */
  body: unknown;
}

export interface HookOutcome {
  result: ScriptResult;
  logs: ScriptLog[];
  /** Levels whose handler ran. */
  ran: ScriptLevel[];
  durationMs: number;
}

const words = new Map<string, RegExp>();
const mentions = (source: string, event: string) => {
  let re = words.get(event);
  if (!re) words.set(event, (re = new RegExp(`\\b${event}\\b`)));
  return re.test(source);
};

// The URL split/join of `method_endpoint` + `method_request_parameters` is the runtime's.
export { splitRequestUrl as splitUrl, joinRequestUrl as joinUrl } from '../runtime/action-scripts.js';

const asObject = <T extends object>(v: unknown, fallback: T): T => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as T) : fallback);
const has = (g: ScriptGlobals, k: keyof ScriptGlobals) => Object.prototype.hasOwnProperty.call(g, k);

export class EventDispatcher {
  readonly #runner: ScriptRunner;
  readonly #exec: ScriptExecution;

  constructor(runner: ScriptRunner, execution: ScriptExecution) {
    this.#runner = runner;
    this.#exec = execution;
  }

  /**
   * Whether any level that runs for this event mentions a handler for it. Hooks of events nobody
   * handles return at once without entering a sandbox (so a level's top-level code runs only for
   * events some level handles).
   */
  handles(event: ScriptEvent): boolean {
    return EVENT_SPECS[event].order.some((level) => {
      const src = this.#exec.sources[level];
      return typeof src === 'string' && mentions(src, event);
    });
  }

  /** Runs one event with the execution's common globals, the carried state and the given globals. */
  async dispatch(event: ScriptEvent, globals: ScriptGlobals, state?: ScriptCallState, options: { restoreSecrets?: 'never' | 'same-origin' } = {}): Promise<RunEventResult> {
    const spec = EVENT_SPECS[event];
    const ids = this.#exec.ids ?? {};
    const all: ScriptGlobals = {
      cycle_step_id: ids.cycleStepId ?? null,
      cycle_id: ids.cycleId ?? null,
      cyclr_account_id: ids.accountId ?? null,
      external_account_id: ids.externalAccountId ?? null,
      transaction_id: ids.transactionId ?? null,
      script_execution_context: this.#exec.context ?? 'RUNNING_TRANSACTION',
      script_parameters: this.#exec.scriptParameters ?? {},
      cycle_variables: this.#exec.cycleVariables ?? {},
      ...(this.#exec.responseFields ? { method_response_fields: this.#exec.responseFields } : {}),
      ...(state ? state.globalsFor(event) : {}),
      ...globals,
    };
    if (!this.handles(event)) {
      const out: Record<string, unknown> = {};
      for (const k of spec.writable) if (all[k] !== undefined) out[k] = all[k];
      return { result: { kind: 'ok' }, globals: out as ScriptGlobals, logs: [], droppedLogs: 0, ran: [], durationMs: 0, ...(spec.stop === 'falsy' ? { route: true } : {}) };
    }
    const run = await this.#runner.runEvent({
      event,
      sources: this.#exec.sources,
      globals: all,
      host: this.#exec.host,
      isolationKey: this.#exec.isolationKey,
      limits: this.#exec.limits,
      restoreSecrets: options.restoreSecrets,
    });
    if (state && (run.result.kind === 'ok' || run.result.kind === 'false')) state.absorb(run.globals);
    return run;
  }

  /**
   * Before each request (each page). Give the request as it will be sent, auth included: the
   * credentials are masked for the script and put back afterwards (unless the script moved the
   * request to another origin: then `credentialsWithheld` and the request goes without them).
   * `result.kind === 'false'`: do not send (abort the step as the script asked).
   */
  async beforeAction(
    request: ScriptRequest,
    state: ScriptCallState,
    options: { authValue?: string; lastSuccessfulRunDate?: string | null } = {},
  ): Promise<HookOutcome & { request: ScriptRequest; credentialsWithheld?: boolean }> {
    const run = await this.dispatch(
      'before_action',
      {
        method_endpoint: request.endpoint,
        method_request_headers: request.headers,
        method_request_parameters: request.parameters,
        method_request: request.body,
        ...(options.authValue !== undefined ? { method_auth_value: options.authValue } : {}),
        last_successful_run_date: options.lastSuccessfulRunDate ?? null,
      },
      state,
      { restoreSecrets: 'same-origin' },
    );
    const g = run.globals;
    const changed: ScriptRequest = {
      endpoint: typeof g.method_endpoint === 'string' ? g.method_endpoint : request.endpoint,
      headers: has(g, 'method_request_headers') ? stringRecord(g.method_request_headers) : request.headers,
      parameters: has(g, 'method_request_parameters') ? asObject(g.method_request_parameters, {}) : request.parameters,
      body: has(g, 'method_request') ? g.method_request : request.body,
    };
    return { ...outcome(run), request: changed, ...(run.secretsWithheld ? { credentialsWithheld: true } : {}) };
  }

  /** After each response (each page), before paging reads it: changes to the body/headers/status take effect. */
  async afterAction(request: ScriptRequest, response: ScriptResponse, state: ScriptCallState): Promise<HookOutcome & { response: ScriptResponse }> {
    const run = await this.dispatch(
      'after_action',
      {
        method_endpoint: request.endpoint,
        method_request: request.body,
        method_response: response.body,
        method_response_headers: response.headers,
        statusCode: response.status,
        reasonPhrase: response.reason ?? '',
      },
      state,
    );
    const g = run.globals;
    return {
      ...outcome(run),
      response: {
        status: typeof g.statusCode === 'number' ? g.statusCode : response.status,
        reason: typeof g.reasonPhrase === 'string' ? g.reasonPhrase : response.reason,
        headers: has(g, 'method_response_headers') ? asObject(g.method_response_headers, {}) : response.headers,
        body: has(g, 'method_response') ? g.method_response : response.body,
      },
    };
  }

  /** Once after all pages (even without paging), with every page's data. */
  async afterActionPaging(
    input: { body: unknown; request?: Pick<ScriptRequest, 'headers' | 'parameters'>; lastSuccessfulRunDate?: string | null; nextLastSuccessfulRunDate?: string | null },
    state: ScriptCallState,
  ): Promise<HookOutcome & { body: unknown; nextLastSuccessfulRunDate: string | null }> {
    const run = await this.dispatch(
      'after_action_paging',
      {
        method_response: input.body,
        method_request_headers: input.request?.headers ?? {},
        method_request_parameters: input.request?.parameters ?? {},
        last_successful_run_date: input.lastSuccessfulRunDate ?? null,
        next_last_successful_run_date: input.nextLastSuccessfulRunDate ?? null,
      },
      state,
    );
    const g = run.globals;
    return {
      ...outcome(run),
      body: has(g, 'method_response') ? g.method_response : input.body,
      nextLastSuccessfulRunDate: has(g, 'next_last_successful_run_date') ? (g.next_last_successful_run_date ?? null) : (input.nextLastSuccessfulRunDate ?? null),
    };
  }

  /**
   * The API answered with an error. `methodError.isSuccess`: treat as success with `content` as the
   * body; `isWarning` (and not isError): log a warning and go on; otherwise the step fails.
   */
  async afterError(error: { statusCode: number; reasonPhrase: string; content: string }, state: ScriptCallState): Promise<HookOutcome & { methodError: MethodError }> {
    const initial: MethodError = { ...error, isError: true, isWarning: false, isSuccess: false };
    const run = await this.dispatch('after_error', { method_error: initial }, state);
    const e = asObject<Partial<MethodError>>(run.globals.method_error, initial);
    return {
      ...outcome(run),
      methodError: {
        statusCode: typeof e.statusCode === 'number' ? e.statusCode : initial.statusCode,
        reasonPhrase: typeof e.reasonPhrase === 'string' ? e.reasonPhrase : initial.reasonPhrase,
        content: typeof e.content === 'string' ? e.content : e.content === undefined ? initial.content : JSON.stringify(e.content),
        isError: e.isError !== false,
        isWarning: e.isWarning === true,
        isSuccess: e.isSuccess === true,
      },
    };
  }

  /** The True/False route of a method that defines action_condition. */
  async actionCondition(body: unknown, state: ScriptCallState): Promise<HookOutcome & { route: boolean }> {
    const run = await this.dispatch('action_condition', { method_response: body }, state);
    return { ...outcome(run), route: run.route ?? true };
  }

  /**
   * A webhook delivery arrived, before anything else. `result.kind === 'false'`: stop and answer
   * the caller with `response` (status 200 unless the script set `statusCode`).
   */
  async beforeWebhook(
    request: ScriptRequest,
    response: { status?: number; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<HookOutcome & { request: ScriptRequest; response: { status: number; headers: Record<string, string>; body: unknown } }> {
    const run = await this.dispatch('before_webhook', {
      method_endpoint: request.endpoint,
      method_request_headers: request.headers,
      method_request_parameters: request.parameters,
      method_request: request.body,
      method_response_headers: stringRecord(response.headers ?? {}),
      method_response: response.body ?? null,
      statusCode: response.status ?? 200,
    });
    const g = run.globals;
    return {
      ...outcome(run),
      request: {
        endpoint: typeof g.method_endpoint === 'string' ? g.method_endpoint : request.endpoint,
        headers: has(g, 'method_request_headers') ? stringRecord(g.method_request_headers) : request.headers,
        parameters: has(g, 'method_request_parameters') ? asObject(g.method_request_parameters, {}) : request.parameters,
        body: has(g, 'method_request') ? g.method_request : request.body,
      },
      response: {
        status: typeof g.statusCode === 'number' && g.statusCode >= 100 && g.statusCode <= 599 ? g.statusCode : (response.status ?? 200),
        headers: has(g, 'method_response_headers') ? stringRecord(g.method_response_headers) : stringRecord(response.headers ?? {}),
        body: has(g, 'method_response') ? g.method_response : (response.body ?? null),
      },
    };
  }

  /** After a delivery was accepted (even for a stopped cycle). `result.kind === 'false'`: ignore the delivery. */
  async afterWebhook(body: unknown, headers: Record<string, string> = {}): Promise<HookOutcome & { body: unknown }> {
    const run = await this.dispatch('after_webhook', { method_response: body, method_request_headers: headers });
    return { ...outcome(run), body: has(run.globals, 'method_response') ? run.globals.method_response : body };
  }

  async beforeOAuth2Authorise(url: string): Promise<HookOutcome & { url: string }> {
    const run = await this.dispatch('before_oauth2_authorise', { method_endpoint: url });
    return { ...outcome(run), url: typeof run.globals.method_endpoint === 'string' ? run.globals.method_endpoint : url };
  }

  /** Token (`token`) or refresh (`refresh`) request, before it is sent: headers and form body. */
  async beforeOAuth2Request(kind: 'token' | 'refresh', request: { headers: Record<string, string>; body: unknown }): Promise<HookOutcome & { headers: Record<string, string>; body: unknown }> {
    const run = await this.dispatch(kind === 'token' ? 'before_oauth2_token' : 'before_oauth2_refresh', {
      method_request_headers: request.headers,
      method_request: request.body,
    });
    const g = run.globals;
    return {
      ...outcome(run),
      headers: has(g, 'method_request_headers') ? stringRecord(g.method_request_headers) : request.headers,
      body: has(g, 'method_request') ? g.method_request : request.body,
    };
  }

  /** Token (`token`) or refresh (`refresh`) response, before the tokens are read from it. */
  async afterOAuth2Response(kind: 'token' | 'refresh', body: unknown): Promise<HookOutcome & { body: unknown }> {
    const run = await this.dispatch(kind === 'token' ? 'after_oauth2_token' : 'after_oauth2_refresh', { method_response: body });
    return { ...outcome(run), body: has(run.globals, 'method_response') ? run.globals.method_response : body };
  }
}

function outcome(run: RunEventResult): HookOutcome {
  return { result: run.result, logs: run.logs, ran: run.ran, durationMs: run.durationMs };
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, val] of Object.entries(v)) {
    if (val === undefined || val === null) continue;
    out[k] = typeof val === 'object' ? JSON.stringify(val) : String(val);
  }
  return out;
}

export { ScriptCallState };

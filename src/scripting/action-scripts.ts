// The scripting layer's implementation of the runtime's ActionScripts hook: an adapter over one
// EventDispatcher per method call, keeping the call's ScriptCallState (action_data and
// method_request_mergefields carry from before_action to after_action, page after page, and on to
// after_action_paging, action_condition and after_error). The sandbox is entered only for events
// some level handles, and the dispatcher (and the runner) are made on the first such event.
import type { ActionMethodError, ActionRequest, ActionResponse, ActionScriptEvent, ActionScriptResult, ActionScripts, ActionSession } from '../runtime/action-scripts.js';
import type { HttpRequest, HttpResponse } from '../runtime/http/http-client.js';
import { ScriptCallState } from './call-state.js';
import { EventDispatcher } from './event-dispatcher.js';
import type { ScriptExecution } from './event-dispatcher.js';
import type { ScriptRunner, ScriptSources } from './script-runner.js';
import { createHttpScriptHost } from './script-host.js';
import type { ScriptHost } from './script-host.js';

export const ACTION_EVENTS: readonly ActionScriptEvent[] = ['before_action', 'after_action', 'after_action_paging', 'after_error', 'action_condition'];
const ANY_ACTION_EVENT = /\b(before_action|after_action|after_action_paging|after_error|action_condition)\b/;

export interface ActionScriptsOptions extends Omit<ScriptExecution, 'host'> {
  /** The guarded HTTP client for the scripts' http_request (credentials added on the connector's origin only). */
  http?: { send(req: HttpRequest): Promise<HttpResponse> };
  storage?: ScriptHost['storage'];
  rateLimitKey?: string;
  /** The initial `method_request_mergefields` (the step's field and parameter values). */
  mergefields?: Record<string, unknown>;
}

/** Whether any of the sources mentions an action event (no mention: no hook, no cost). */
export function mentionsActionEvent(sources: ScriptSources): boolean {
  return [sources.connector, sources.method, sources.step].some((s) => typeof s === 'string' && ANY_ACTION_EVENT.test(s));
}

/**
 * The action events of one method call, or undefined when no level's source mentions one.
 * `runner` may be a function: the sandbox then starts on the first event that has a handler.
 */
export function createActionScripts(runner: ScriptRunner | (() => Promise<ScriptRunner>), options: ActionScriptsOptions): ActionScripts | undefined {
  if (!mentionsActionEvent(options.sources)) return undefined;
  return new DispatcherActionScripts(runner, options);
}

class DispatcherActionScripts implements ActionScripts {
  readonly #runner: ScriptRunner | (() => Promise<ScriptRunner>);
  readonly #options: ActionScriptsOptions;
  readonly #state: ScriptCallState;
  readonly #handled: ReadonlySet<ActionScriptEvent>;
  #session?: ActionSession;
  #dispatcher?: Promise<EventDispatcher>;

  constructor(runner: ScriptRunner | (() => Promise<ScriptRunner>), options: ActionScriptsOptions) {
    this.#runner = runner;
    this.#options = options;
    this.#state = new ScriptCallState({ mergefields: { ...(options.mergefields ?? {}) } });
    // What EventDispatcher.handles says, computed once without a runner.
    const probe = new EventDispatcher(null as unknown as ScriptRunner, { sources: options.sources, isolationKey: options.isolationKey });
    this.#handled = new Set(ACTION_EVENTS.filter((e) => probe.handles(e)));
  }

  /** The carried state (for tests and for a transaction that continues elsewhere). */
  get state(): ScriptCallState {
    return this.#state;
  }

  bind(session: ActionSession): void {
    this.#session = session;
  }

  handles(event: ActionScriptEvent): boolean {
    return this.#handled.has(event);
  }

  #dispatch(): Promise<EventDispatcher> {
    this.#dispatcher ??= (async () => {
      const runner = typeof this.#runner === 'function' ? await this.#runner() : this.#runner;
      const session = this.#session;
      const { http, storage, rateLimitKey, mergefields: _m, ...execution } = this.#options;
      const secrets = session?.secrets ?? [];
      const origin = session?.origin();
      const host: ScriptHost = http
        ? createHttpScriptHost({
            http,
            ...(session ? { authorize: (req: HttpRequest) => session.authorize(req) } : {}),
            authOrigins: origin ? [origin] : [],
            secrets,
            ...(storage ? { storage } : {}),
            ...(rateLimitKey ? { rateLimitKey } : {}),
          })
        : { secrets, ...(storage ? { storage } : {}) };
      return new EventDispatcher(runner, { ...execution, host });
    })();
    return this.#dispatcher;
  }

  async beforeAction(request: ActionRequest, options: { authValue?: string; lastSuccessfulRunDate?: string | null }) {
    const out = await (await this.#dispatch()).beforeAction(request, this.#state, options);
    return { result: out.result as ActionScriptResult, request: out.request, ...(out.credentialsWithheld ? { credentialsWithheld: true } : {}) };
  }

  async afterAction(request: ActionRequest, response: ActionResponse) {
    const out = await (await this.#dispatch()).afterAction(request, response, this.#state);
    return { result: out.result as ActionScriptResult, response: out.response };
  }

  async afterError(error: { statusCode: number; reasonPhrase: string; content: string }) {
    const out = await (await this.#dispatch()).afterError(error, this.#state);
    return { result: out.result as ActionScriptResult, methodError: out.methodError as ActionMethodError };
  }

  async afterActionPaging(input: { body: unknown; request?: Pick<ActionRequest, 'headers' | 'parameters'>; lastSuccessfulRunDate?: string | null; nextLastSuccessfulRunDate?: string | null }) {
    const out = await (await this.#dispatch()).afterActionPaging(input, this.#state);
    return { result: out.result as ActionScriptResult, body: out.body, nextLastSuccessfulRunDate: out.nextLastSuccessfulRunDate };
  }

  async actionCondition(body: unknown) {
    const out = await (await this.#dispatch()).actionCondition(body, this.#state);
    return { result: out.result as ActionScriptResult, route: out.route };
  }
}

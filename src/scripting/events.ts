// The Cyclr script events: which levels run, in what order, which globals each sees, which of
// them the script may change (and the host takes back), and what a returned `false` means.

export const SCRIPT_LEVELS = ['connector', 'method', 'step'] as const;
export type ScriptLevel = (typeof SCRIPT_LEVELS)[number];

export const SCRIPT_EVENTS = [
  'before_action',
  'after_action',
  'after_action_paging',
  'after_error',
  'action_condition',
  'before_webhook',
  'after_webhook',
  'before_oauth2_authorise',
  'before_oauth2_token',
  'after_oauth2_token',
  'before_oauth2_refresh',
  'after_oauth2_refresh',
] as const;
export type ScriptEvent = (typeof SCRIPT_EVENTS)[number];

/** Ids and context every event (except the OAuth2 ones) sees; read-only. */
export const ID_GLOBALS = [
  'cycle_step_id',
  'cycle_id',
  'cyclr_account_id',
  'external_account_id',
  'transaction_id',
  'script_execution_context',
] as const;

export const GLOBAL_NAMES = [
  'method_endpoint',
  'method_request',
  'method_request_headers',
  'method_request_parameters',
  'method_request_mergefields',
  'method_response',
  'method_response_headers',
  'method_response_fields',
  'statusCode',
  'reasonPhrase',
  'method_error',
  'method_auth_value',
  'script_parameters',
  'cycle_variables',
  'action_data',
  'last_successful_run_date',
  'next_last_successful_run_date',
  ...ID_GLOBALS,
] as const;
export type GlobalName = (typeof GLOBAL_NAMES)[number];

export type ScriptExecutionContextName = 'RUNNING_TRANSACTION' | 'CONNECTOR_TESTING' | 'STEP_TESTING';

/** `method_error` of after_error: the script flips the switches to turn an error into a warning or a success. */
export interface MethodError {
  statusCode: number;
  reasonPhrase: string;
  /** The response body as text. With `isSuccess`, the body to use as the step's result. */
  content: string;
  isError: boolean;
  isWarning: boolean;
  isSuccess: boolean;
}

/** Every global a script may see, as JSON data. Each event receives only its documented subset. */
export interface ScriptGlobals {
  method_endpoint?: string;
  method_request?: unknown;
  method_request_headers?: Record<string, string>;
  method_request_parameters?: Record<string, unknown>;
  method_request_mergefields?: Record<string, unknown>;
  method_response?: unknown;
  method_response_headers?: Record<string, string | string[]>;
  method_response_fields?: unknown[];
  statusCode?: number;
  reasonPhrase?: string;
  method_error?: MethodError;
  /** before_action only: the raw auth value (API key, token…). Never logged, never returned. */
  method_auth_value?: string;
  script_parameters?: Record<string, unknown>;
  cycle_variables?: Record<string, unknown>;
  action_data?: unknown;
  last_successful_run_date?: string | null;
  next_last_successful_run_date?: string | null;
  cycle_step_id?: string | null;
  cycle_id?: string | null;
  cyclr_account_id?: string | null;
  external_account_id?: string | null;
  transaction_id?: string | null;
  script_execution_context?: ScriptExecutionContextName;
}

export interface EventSpec {
  readonly event: ScriptEvent;
  /** `before*`: method → connector → step; all others: connector → method → step. */
  readonly order: readonly ScriptLevel[];
  /** Globals the event receives (anything else passed in is dropped). */
  readonly globals: ReadonlySet<GlobalName>;
  /** Globals whose values after the handlers are handed back to the host. */
  readonly writable: readonly GlobalName[];
  /**
   * How a handler's return value stops the chain: `false` = a strict `false` stops (aborts the
   * request, answers the webhook, ignores the delivery); `falsy` = action_condition's False route;
   * `none` = the return value is ignored.
   */
  readonly stop: 'false' | 'falsy' | 'none';
  /**
   * Whether known secrets in the globals are masked before the script sees them. The OAuth2
   * events are exempt: reshaping the token request/response is their purpose.
   */
  readonly maskSecrets: boolean;
}

const BEFORE: readonly ScriptLevel[] = ['method', 'connector', 'step'];
const OTHER: readonly ScriptLevel[] = ['connector', 'method', 'step'];
// Connector-builder-only events never run step-level handlers.
const BUILDER: readonly ScriptLevel[] = ['connector', 'method'];
const BUILDER_BEFORE: readonly ScriptLevel[] = ['method', 'connector'];

const COMMON = ['script_parameters', 'cycle_variables', ...ID_GLOBALS] as const;
const WITH_ACTION_DATA = [...COMMON, 'action_data'] as const;

function spec(
  event: ScriptEvent,
  order: readonly ScriptLevel[],
  globals: readonly GlobalName[],
  writable: readonly GlobalName[],
  stop: EventSpec['stop'] = 'none',
  maskSecrets = true,
): EventSpec {
  return { event, order, globals: new Set([...globals, ...writable]), writable, stop, maskSecrets };
}

export const EVENT_SPECS: Readonly<Record<ScriptEvent, EventSpec>> = {
  before_action: spec(
    'before_action',
    BEFORE,
    [...WITH_ACTION_DATA, 'method_auth_value', 'last_successful_run_date', 'method_response_fields'],
    ['method_endpoint', 'method_request', 'method_request_headers', 'method_request_parameters', 'method_request_mergefields', 'action_data'],
    'false',
  ),
  after_action: spec(
    'after_action',
    OTHER,
    [...WITH_ACTION_DATA, 'method_endpoint', 'method_request', 'method_response_fields'],
    ['method_response', 'method_response_headers', 'statusCode', 'reasonPhrase', 'method_request_mergefields', 'action_data'],
  ),
  after_action_paging: spec(
    'after_action_paging',
    OTHER,
    [...WITH_ACTION_DATA, 'method_request_headers', 'method_request_parameters', 'last_successful_run_date', 'method_response_fields'],
    ['method_response', 'next_last_successful_run_date', 'method_request_mergefields', 'action_data'],
  ),
  after_error: spec('after_error', OTHER, [...WITH_ACTION_DATA, 'method_request_mergefields'], ['method_error', 'action_data']),
  action_condition: spec('action_condition', BUILDER, [...WITH_ACTION_DATA, 'method_response', 'method_request_mergefields'], ['action_data'], 'falsy'),
  before_webhook: spec(
    'before_webhook',
    BEFORE,
    [...COMMON],
    ['method_endpoint', 'method_request', 'method_request_headers', 'method_request_parameters', 'method_response', 'method_response_headers', 'statusCode'],
    'false',
  ),
  after_webhook: spec('after_webhook', OTHER, [...COMMON, 'method_request_headers'], ['method_response'], 'false'),
  before_oauth2_authorise: spec('before_oauth2_authorise', BUILDER_BEFORE, ['script_parameters', 'cycle_variables'], ['method_endpoint'], 'none', false),
  before_oauth2_token: spec('before_oauth2_token', BUILDER_BEFORE, ['script_parameters', 'cycle_variables'], ['method_request', 'method_request_headers'], 'none', false),
  after_oauth2_token: spec('after_oauth2_token', BUILDER, ['script_parameters', 'cycle_variables'], ['method_response'], 'none', false),
  before_oauth2_refresh: spec('before_oauth2_refresh', BUILDER_BEFORE, ['script_parameters', 'cycle_variables'], ['method_request', 'method_request_headers'], 'none', false),
  after_oauth2_refresh: spec('after_oauth2_refresh', BUILDER, ['script_parameters', 'cycle_variables'], ['method_response'], 'none', false),
};

export function isScriptEvent(name: string): name is ScriptEvent {
  return Object.prototype.hasOwnProperty.call(EVENT_SPECS, name);
}

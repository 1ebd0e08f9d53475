// Scripting: Cyclr-compatible event handlers and inline scripts in a sandbox (docs/scripting.md).
export { createScriptRunner, SandboxScriptRunner, parseSandboxJson, MAX_INPUT_CHARS } from './script-runner.js';
export type {
  EvalOptions,
  EvalResult,
  RunEventRequest,
  RunEventResult,
  ScriptErrorCode,
  ScriptErrorInfo,
  ScriptLog,
  ScriptProblem,
  ScriptResult,
  ScriptRunner,
  ScriptRunnerOptions,
  ScriptSources,
} from './script-runner.js';
export { EventDispatcher, splitUrl, joinUrl } from './event-dispatcher.js';
export type { HookOutcome, ScriptExecution, ScriptIds, ScriptRequest, ScriptResponse } from './event-dispatcher.js';
export { ScriptCallState } from './call-state.js';
export { ACTION_EVENTS, createActionScripts, mentionsActionEvent } from './action-scripts.js';
export type { ActionScriptsOptions } from './action-scripts.js';
export type { ScriptCallStateJson } from './call-state.js';
export { EVENT_SPECS, GLOBAL_NAMES, SCRIPT_EVENTS, SCRIPT_LEVELS, isScriptEvent } from './events.js';
export type { EventSpec, GlobalName, MethodError, ScriptEvent, ScriptExecutionContextName, ScriptGlobals, ScriptLevel } from './events.js';
export { DEFAULT_LIMITS, MAX_TIMEOUT_MS, resolveLimits } from './limits.js';
export type { ScriptLimits } from './limits.js';
export { MemoryKeyValueStore, createHttpScriptHost, buildScriptUrl } from './script-host.js';
export type { HttpScriptHostOptions, KeyValueStore, ScriptHost, ScriptHttpRequest, ScriptHttpResponse } from './script-host.js';
export { ScriptStorageRepo } from './script-storage.js';
export type { StorageScope } from './script-storage.js';
export { rewriteInlineExpression, expressionBody } from './inline-expression.js';
export type { EngineInfo, EngineName, EngineStats } from './engines/engine.js';

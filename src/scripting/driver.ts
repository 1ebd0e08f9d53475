// The code that runs inside every sandbox context, the same on every engine. It is installed once
// per context and returns one function, `run(payloadJson) → resultJson`. Everything crosses the
// boundary as JSON text: no host object ever enters the sandbox and no sandbox object leaves it.
//
// Per context it defines the helpers (http_request, btoa/atob, cyclr_sign, CSV, XML, storage,
// plexus_date, console, the Auth exceptions, require for configured libraries), then snapshots
// the global object. Per run it sets the event's globals, compiles each level's source once (as
// a function body, so every level keeps its own top-level scope: all three may define
// `before_action`), calls the handlers in order, reads the writable globals back, and restores
// the global object to its snapshot. A context whose state cannot be restored reports itself
// `tainted` and the host throws it away.
import { GLOBAL_NAMES, SCRIPT_EVENTS } from './events.js';

/** Host-side config of a context (JSON). */
export interface DriverConfig {
  /** `reference`: the async host entry is an isolated-vm Reference (applySyncPromise); `function`: a plain function. */
  asyncVia: 'reference' | 'function';
  maxLogChars: number;
  libraries: Array<{ name: string; global?: string; source: string }>;
}

export interface DriverLevel {
  level: string;
  hash: string;
  /** Omitted when the context already compiled this hash. */
  source?: string;
}

export interface DriverEventPayload {
  op: 'event';
  async: boolean;
  maxLogs: number;
  maxOut: number;
  event: string;
  levels: DriverLevel[];
  globals: Record<string, unknown>;
  auth?: string;
  ret: string[];
  stop: 'false' | 'falsy' | 'none';
}

export interface DriverExprPayload {
  op: 'expr';
  async: boolean;
  maxLogs: number;
  maxOut: number;
  hash: string;
  source: string;
  data: Record<string, unknown>;
}

export interface DriverError {
  kind: 'error' | 'auth_refresh' | 'auth_session' | 'syntax' | 'output_too_large';
  name: string;
  message: string;
  level: string | null;
  line?: number;
  column?: number;
}

export type DriverRunResult =
  | { ok: true; ran: string[]; stoppedAt: string | null; condition: boolean; globals: Record<string, unknown> }
  | { ok: true; value: unknown }
  | { ok: false; error: DriverError }
  | { ok: false; missing: true };

export interface DriverEnvelope {
  r: DriverRunResult;
  logs: Array<{ level: string; message: string }>;
  dropped: number;
  tainted: boolean;
  needAsync: boolean;
}

const DRIVER_BODY = String.raw`
'use strict';
var G = globalThis;
var JSONparse = JSON.parse, JSONstringify = JSON.stringify;
var FunctionCtor = Function, ErrorCtor = Error, StringCtor = String, DateCtor = Date, ObjectCtor = Object;
var ownKeys = Reflect.ownKeys, defineProperty = Object.defineProperty, getDesc = Object.getOwnPropertyDescriptor;
var isExtensible = Object.isExtensible, freeze = Object.freeze, keysOf = Object.keys, isArray = Array.isArray;
var hasOwn = Function.prototype.call.bind(Object.prototype.hasOwnProperty);
var indirectEval = G.eval;
var cfg = JSONparse(configJson);
var EVENTS = __EVENTS__;
var maxLogChars = cfg.maxLogChars;
var asyncMode = false, needAsync = false, logs = [], dropped = 0, maxLogs = 100, currentLevel = null;
var hostAsync = cfg.asyncVia === 'reference'
  ? function (n, j) { return hostAsyncIn.applySyncPromise(undefined, [n, j]); }
  : hostAsyncIn;

function unwrap(out) {
  var r = JSONparse(out);
  if (r !== null && typeof r === 'object' && typeof r.error === 'string') throw new ErrorCtor(r.error);
  return r === null || typeof r !== 'object' ? null : r.value;
}
function callPure(name, args) {
  return unwrap(hostSync(name, JSONstringify(args)));
}
function callHost(name, args) {
  if (!asyncMode) { needAsync = true; throw new ErrorCtor('PLEXUS_NEEDS_ASYNC'); }
  return unwrap(hostAsync(name, JSONstringify(args)));
}

function show(v) {
  try {
    if (typeof v === 'string') return v;
    if (v instanceof ErrorCtor) return StringCtor(v.name) + ': ' + StringCtor(v.message);
    var s = JSONstringify(v);
    return s === undefined ? StringCtor(v) : s;
  } catch (e) {
    try { return StringCtor(v); } catch (e2) { return '[unprintable]'; }
  }
}
function logger(level) {
  return function () {
    if (logs.length >= maxLogs) { dropped++; return; }
    var text = '';
    for (var i = 0; i < arguments.length; i++) text += (i ? ' ' : '') + show(arguments[i]);
    if (text.length > maxLogChars) text = text.slice(0, maxLogChars) + '…';
    logs[logs.length] = { level: level, message: text };
  };
}

class AuthRefreshException extends ErrorCtor {
  constructor(message) { super(message === undefined ? 'AuthRefreshException' : message); this.name = 'AuthRefreshException'; }
}
class AuthSessionException extends ErrorCtor {
  constructor(message) { super(message === undefined ? 'AuthSessionException' : message); this.name = 'AuthSessionException'; }
}

var helpers = {
  http_request: function http_request(options) { return callHost('http_request', [options]); },
  btoa: function btoa(value, charset) { return callPure('btoa', [value, charset]); },
  atob: function atob(value, charset) { return callPure('atob', [value, charset]); },
  cyclr_sign: function cyclr_sign(algorithm, key, value) { return callPure('cyclr_sign', [algorithm, key, value]); },
  cyclr_csv_parse: function cyclr_csv_parse(csv, delimiter, hasHeader) { return callPure('cyclr_csv_parse', [csv, delimiter, hasHeader]); },
  cyclr_xml_serialize: function cyclr_xml_serialize(value) { return callPure('cyclr_xml_serialize', [value]); },
  cyclr_xml_deserialize: function cyclr_xml_deserialize(xml) { return callPure('cyclr_xml_deserialize', [xml]); },
  AuthRefreshException: AuthRefreshException,
  AuthSessionException: AuthSessionException,
  console: freeze({ log: logger('info'), info: logger('info'), debug: logger('debug'), warn: logger('warn'), error: logger('error'), trace: logger('debug') }),
  plexus_date: freeze({
    now: function now() { return new DateCtor().toISOString(); },
    format: function format(value, pattern, timeZone) { return callPure('date.format', [value, pattern, timeZone]); },
    parse: function parse(text, pattern, timeZone) { return callPure('date.parse', [text, pattern, timeZone]); },
    add: function add(value, amount, unit, timeZone) { return callPure('date.add', [value, amount, unit, timeZone]); },
    startOf: function startOf(value, unit, timeZone) { return callPure('date.startOf', [value, unit, timeZone]); },
    diff: function diff(a, b, unit) { return callPure('date.diff', [a, b, unit]); },
    offset: function offset(value, timeZone) { return callPure('date.offset', [value, timeZone]); },
    isValid: function isValid(text, pattern, timeZone) { return callPure('date.isValid', [text, pattern, timeZone]); }
  })
};
['connector', 'cycle'].forEach(function (scope) {
  var p = scope === 'connector' ? 'cyclr_storage_' : 'cycle_storage_';
  var op = function (name, arity) {
    helpers[p + name] = function () {
      var args = [scope, name];
      for (var i = 0; i < arity; i++) args[args.length] = arguments[i];
      return callHost('storage', args);
    };
  };
  op('list_values', 0); op('list_keys', 0); op('delete_all', 0); op('delete', 1); op('get', 1);
  op('set', 2); op('append', 2); op('increment', 2); op('decrement', 2);
});

var libs = ObjectCtor.create(null), libCache = ObjectCtor.create(null);
cfg.libraries.forEach(function (l) { libs[l.name] = l; });
function requireLib(name) {
  if (typeof name !== 'string' || !(name in libs)) throw new ErrorCtor("Cannot find module '" + StringCtor(name) + "'");
  if (name in libCache) return libCache[name];
  var module = { exports: {} };
  libCache[name] = module.exports;
  new FunctionCtor('module', 'exports', 'require', 'define', libs[name].source + '\n//# sourceURL=lib-' + name + '.js')
    .call(G, module, module.exports, requireLib, undefined);
  libCache[name] = module.exports;
  return module.exports;
}
helpers.require = requireLib;

for (var hk in helpers) {
  try { defineProperty(G, hk, { value: helpers[hk], writable: true, enumerable: false, configurable: true }); } catch (e) {}
}
cfg.libraries.forEach(function (l) {
  if (!l.global) return;
  try {
    defineProperty(G, l.global, { get: function () { return requireLib(l.name); }, enumerable: false, configurable: true });
  } catch (e) {}
});

// ---- where a frame points: calibrated once, because engines number Function bodies differently ----
var frameMode = 'none', lineOffset = 0;
try {
  new FunctionCtor('\n\nthrow new Error("probe")\n//# sourceURL=plexus-probe.js')();
} catch (e) {
  var ps = StringCtor(e && e.stack);
  var pm = /plexus-probe\.js:(\d+)/.exec(ps);
  if (pm) { frameMode = 'url'; lineOffset = +pm[1] - 3; }
  else if ((pm = /<input>:(\d+)/.exec(ps))) { frameMode = 'input'; lineOffset = +pm[1] - 3; }
}
var URL_FRAME = /(connector|method|step|expression)\.js:(\d+):(\d+)/;
var INPUT_FRAME = /<input>:(\d+):(\d+)/;

function describe(e, level) {
  var out = { kind: 'error', name: 'Error', message: 'script error', level: level };
  try {
    if (e instanceof AuthRefreshException) out.kind = 'auth_refresh';
    else if (e instanceof AuthSessionException) out.kind = 'auth_session';
    if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
      var n = e.name;
      if (typeof n === 'string') out.name = n;
      if (out.kind === 'error' && n === 'AuthRefreshException') out.kind = 'auth_refresh';
      if (out.kind === 'error' && n === 'AuthSessionException') out.kind = 'auth_session';
      var m = e.message;
      out.message = typeof m === 'string' ? m : StringCtor(m === undefined ? e : m);
      var s = e.stack;
      if (typeof s === 'string') {
        var fm;
        if (frameMode === 'url' && (fm = URL_FRAME.exec(s))) {
          out.level = fm[1]; out.line = +fm[2] - (fm[1] === 'expression' ? 0 : lineOffset); out.column = +fm[3];
        } else if (frameMode === 'input' && (fm = INPUT_FRAME.exec(s))) {
          out.line = +fm[1] - lineOffset; out.column = +fm[2];
        }
      }
    } else {
      out.message = StringCtor(e);
    }
  } catch (e2) {}
  if (typeof out.message !== 'string') out.message = 'script error';
  if (out.message.length > 2000) out.message = out.message.slice(0, 2000) + '…';
  return out;
}

// The event globals exist from the start (value undefined) and are reset, not deleted, after a
// run: adding and deleting global properties on every run would make V8 throw away optimised code.
var EMPTY = { value: undefined, writable: true, enumerable: false, configurable: true };
var SLOT = ObjectCtor.create(null);
__GLOBALS__.forEach(function (k) { SLOT[k] = true; defineProperty(G, k, EMPTY); });
var setNames = [];

// ---- the snapshot the global object is restored to after every run ----
var ObjectIs = ObjectCtor.is;
var baseline = ObjectCtor.create(null), dataKeys = [], dataValues = [], otherKeys = [];
ownKeys(G).forEach(function (k) {
  var d = getDesc(G, k);
  baseline[keyOf(k)] = d;
  // Non-writable, non-configurable values (NaN, undefined…) cannot change.
  if (typeof k === 'string' && SLOT[k]) return;
  if ('value' in d) {
    if (d.writable || d.configurable) { dataKeys[dataKeys.length] = k; dataValues[dataValues.length] = d.value; }
  } else otherKeys[otherKeys.length] = k;
});
// Tampering with these is noticed and costs the context (it would otherwise outlive the run).
var WATCHED = [ObjectCtor.prototype, Array.prototype, FunctionCtor.prototype, StringCtor.prototype];
var watchedCounts = WATCHED.map(function (o) { return ownKeys(o).length; });
var hasStackTraceLimit = hasOwn(ErrorCtor, 'stackTraceLimit'), stackTraceLimit = ErrorCtor.stackTraceLimit;

function keyOf(k) { return typeof k === 'symbol' ? '@@' + StringCtor(k.description) : k; }

// Built-in prototypes changed (or the global object made non-extensible): the context must go.
function builtinsTampered() {
  try {
    if (!isExtensible(G)) return true;
    for (var w = 0; w < WATCHED.length; w++) {
      if (ownKeys(WATCHED[w]).length !== watchedCounts[w]) return true;
    }
    return false;
  } catch (e) {
    return true;
  }
}

function restore(watch) {
  var tainted = false;
  try {
    if (!isExtensible(G)) return true;
    for (var s = 0; s < setNames.length; s++) defineProperty(G, setNames[s], EMPTY);
    setNames = [];
    var now = ownKeys(G);
    for (var i = 0; i < now.length; i++) {
      var k = now[i];
      if (!((typeof k === 'symbol' ? keyOf(k) : k) in baseline)) { if (!delete G[k]) tainted = true; }
    }
    for (var j = 0; j < dataKeys.length; j++) {
      var dk = dataKeys[j];
      if (!ObjectIs(G[dk], dataValues[j]) || !hasOwn(G, dk)) {
        try { defineProperty(G, dk, baseline[keyOf(dk)]); } catch (e) { tainted = true; }
      }
    }
    for (var a = 0; a < otherKeys.length; a++) {
      var ak = otherKeys[a], d = baseline[keyOf(ak)], cur = getDesc(G, ak);
      if (cur === undefined || cur.get !== d.get || cur.set !== d.set) {
        try { defineProperty(G, ak, d); } catch (e) { tainted = true; }
      }
    }
    if (watch && builtinsTampered()) tainted = true;
    if (hasStackTraceLimit) ErrorCtor.stackTraceLimit = stackTraceLimit;
    // Clear RegExp's legacy statics (RegExp.input, $1…), which would keep the last matched text.
    /(?:)/.exec('');
  } catch (e) {
    tainted = true;
  }
  return tainted;
}

function setGlobal(k, v) {
  defineProperty(G, k, { value: v, writable: true, enumerable: false, configurable: true });
  setNames[setNames.length] = k;
}

// Compiled level sources by hash; bounded (the host re-sends a source the context no longer has).
var factories = ObjectCtor.create(null), factoryCount = 0;
var RETURN = '\n;return {' + EVENTS.map(function (e) { return e + ": typeof " + e + " === 'function' ? " + e + ' : undefined'; }).join(', ') + '};';
function factoryFor(lv) {
  var f = factories[lv.hash];
  if (f) return f;
  if (typeof lv.source !== 'string') return null;
  f = new FunctionCtor(lv.source + RETURN + '\n//# sourceURL=' + lv.level + '.js');
  if (++factoryCount > 256) { factories = ObjectCtor.create(null); factoryCount = 1; }
  factories[lv.hash] = f;
  return f;
}

function runEvent(p) {
  var names = keysOf(p.globals);
  for (var i = 0; i < names.length; i++) setGlobal(names[i], p.globals[names[i]]);
  if (typeof p.auth === 'string') setGlobal('method_auth_value', p.auth);
  var ran = [], stoppedAt = null, condition = true;
  for (var l = 0; l < p.levels.length; l++) {
    var lv = p.levels[l];
    currentLevel = lv.level;
    var factory;
    try {
      factory = factoryFor(lv);
    } catch (e) {
      var failed = describe(e, lv.level);
      if (failed.name === 'SyntaxError') { failed.kind = 'syntax'; failed.level = lv.level; }
      return { ok: false, error: failed };
    }
    if (factory === null) return { ok: false, missing: true };
    var handlers = factory();
    // A handler assigned as an implicit global must not leak to the next level.
    for (var e = 0; e < EVENTS.length; e++) {
      if (hasOwn(G, EVENTS[e]) && !(EVENTS[e] in baseline)) delete G[EVENTS[e]];
    }
    var h = handlers[p.event];
    if (typeof h !== 'function') continue;
    ran[ran.length] = lv.level;
    var r = h();
    if ((p.stop === 'false' && r === false) || (p.stop === 'falsy' && !r)) {
      stoppedAt = lv.level;
      condition = false;
      break;
    }
  }
  currentLevel = null;
  var out = {};
  for (var k = 0; k < p.ret.length; k++) {
    var v = G[p.ret[k]];
    if (v !== undefined) out[p.ret[k]] = v;
  }
  return { ok: true, ran: ran, stoppedAt: stoppedAt, condition: condition, globals: out };
}

function runExpr(p) {
  var data = freeze(p.data);
  setGlobal('fields', data);
  setGlobal('__plexus_fields', data);
  currentLevel = 'expression';
  var value = indirectEval(p.source + '\n//# sourceURL=expression.js');
  currentLevel = null;
  return { ok: true, value: value === undefined ? null : value };
}

// run(payloadJson) runs one execution and restores the global object before it returns.
// run(payloadJson, true) leaves the restore of the global object, and the check of the built-in
// prototypes, to a following run(null) call, which returns whether the context is tainted: the host
// answers first and restores while nobody waits. The host makes that call before anything else runs
// in the context (and a run finding it not done does it first), so a tampered context is dropped
// before it can run anything else.
var restorePending = false;
return function run(payloadJson, deferRestore) {
  if (payloadJson === null) {
    if (!restorePending) return false;
    restorePending = false;
    return restore(true);
  }
  if (restorePending) { restorePending = false; if (restore(true)) return '{"r":{"ok":false,"error":{"kind":"error","name":"Error","message":"the sandbox context could not be restored","level":null}},"logs":[],"dropped":0,"tainted":true,"needAsync":false}'; }
  logs = []; dropped = 0; needAsync = false; currentLevel = null;
  var result, text, tainted = false, p = null;
  try {
    p = JSONparse(payloadJson);
    asyncMode = p.async === true;
    maxLogs = p.maxLogs;
    try {
      result = p.op === 'expr' ? runExpr(p) : runEvent(p);
    } catch (e) {
      result = { ok: false, error: describe(e, currentLevel) };
    }
    try {
      text = JSONstringify(result);
    } catch (e) {
      result = { ok: false, error: describe(e, null) };
      result.error.message = 'the script left a value that cannot be copied out as JSON: ' + result.error.message;
      text = JSONstringify(result);
    }
    if (typeof text !== 'string') text = JSONstringify({ ok: false, error: { kind: 'error', name: 'Error', message: 'the script result cannot be copied out', level: null } });
    if (text.length > p.maxOut) {
      text = JSONstringify({ ok: false, error: { kind: 'output_too_large', name: 'RangeError',
        message: 'the script output (' + text.length + ' characters) is larger than the limit of ' + p.maxOut, level: null } });
    }
  } finally {
    if (deferRestore === true) restorePending = true;
    else tainted = restore(true);
  }
  return '{"r":' + text + ',"logs":' + JSONstringify(logs) + ',"dropped":' + dropped + ',"tainted":' + tainted + ',"needAsync":' + needAsync + '}';
};
`;

/**
 * The driver as an expression: a function `(hostSync, hostAsyncIn, configJson) → run`.
 * `hostSync(name, argsJson) → resultJson` runs pure helpers; `hostAsyncIn` reaches the host's
 * asynchronous helpers (http_request, storage) and blocks the script until they answer.
 */
export const DRIVER_SOURCE = `(function (hostSync, hostAsyncIn, configJson) {${DRIVER_BODY.replace('__EVENTS__', JSON.stringify(SCRIPT_EVENTS)).replace(
  '__GLOBALS__',
  JSON.stringify([...GLOBAL_NAMES, 'fields', '__plexus_fields']),
)}\n})`;

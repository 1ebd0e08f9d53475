// Per-execution limits of a script run, with their defaults and hard ceilings.

export interface ScriptLimits {
  /** Wall-clock budget of one execution (all levels of one event), host calls included. */
  timeoutMs: number;
  /** `http_request` calls allowed in one execution. */
  maxHttpRequests: number;
  /** Storage helper calls allowed in one execution. */
  maxStorageCalls: number;
  /** Size (JSON characters) of what one execution hands back: changed globals or an expression's value. */
  maxOutputBytes: number;
  /** `console.*` lines kept per execution (later ones are counted, not kept). */
  maxLogEntries: number;
}

export const DEFAULT_LIMITS: Readonly<ScriptLimits> = Object.freeze({
  timeoutMs: 10_000,
  maxHttpRequests: 25,
  maxStorageCalls: 1_000,
  maxOutputBytes: 8 * 1024 * 1024,
  maxLogEntries: 100,
});

/** Cyclr's documented ceiling. */
export const MAX_TIMEOUT_MS = 60_000;
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Longest kept log line, in characters. */
export const MAX_LOG_CHARS = 2_000;
/** Longest script error message handed back, in characters. */
export const MAX_ERROR_CHARS = 2_000;
/** Largest accepted script source (per level), in characters. */
export const MAX_SOURCE_CHARS = 1024 * 1024;

const clampInt = (v: number | undefined, min: number, max: number, fallback: number): number =>
  v === undefined || !Number.isFinite(v) ? fallback : Math.min(max, Math.max(min, Math.floor(v)));

/** Defaults filled in and every value clamped to its allowed range. */
export function resolveLimits(given: Partial<ScriptLimits> = {}, base: Readonly<ScriptLimits> = DEFAULT_LIMITS): ScriptLimits {
  return {
    timeoutMs: clampInt(given.timeoutMs, 1, MAX_TIMEOUT_MS, base.timeoutMs),
    maxHttpRequests: clampInt(given.maxHttpRequests, 0, 1_000, base.maxHttpRequests),
    maxStorageCalls: clampInt(given.maxStorageCalls, 0, 100_000, base.maxStorageCalls),
    maxOutputBytes: clampInt(given.maxOutputBytes, 1_024, MAX_OUTPUT_BYTES, base.maxOutputBytes),
    maxLogEntries: clampInt(given.maxLogEntries, 0, 10_000, base.maxLogEntries),
  };
}

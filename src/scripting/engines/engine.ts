// What a sandbox engine does for the runner: run one driver payload in the context of an
// isolation key, within a deadline, answering the script's host calls through a bridge.
import type { DriverLevel } from '../driver.js';

export type EngineName = 'isolated-vm' | 'quickjs';

export interface EngineInfo {
  name: EngineName;
  /** Version of the engine package. */
  version: string;
  /** The npm module it was loaded from (`isolated-vm`, `isolated-vm-7`, `quickjs-emscripten`). */
  module: string;
  /** Why this engine was chosen (and why others were not). */
  reason: string;
}

/**
 * The host side of one execution, as the sandbox sees it: JSON text in, JSON text out. Pure
 * helpers (btoa, cyclr_sign, CSV, XML, dates) run inside the sandbox's own thread or process;
 * only calls with effects come here.
 */
export interface HostBridge {
  /** The execution starts now (in its sandbox) and must end by `deadline` (epoch ms). */
  begin(deadline: number): void;
  /** http_request and storage: `{"value":…}` or `{"error":"…"}`; never rejects. */
  call(name: string, argsJson: string): Promise<string>;
}

export interface SandboxJob {
  /** Executions with the same key may share a warm context; different keys never do. */
  key: string;
  levels: DriverLevel[];
  /** The rest of the driver payload as JSON text (an object, without `levels`). */
  body: string;
  /** Time the execution may take once its sandbox starts it (waiting for a sandbox does not count). */
  timeoutMs: number;
  bridge: HostBridge;
}

export type SandboxOutcome =
  | { kind: 'done'; envelope: string }
  | { kind: 'timeout' }
  | { kind: 'memory' }
  | { kind: 'crashed'; message: string };

export interface CompileProblem {
  line: number;
  column: number;
  message: string;
}

export interface SandboxEngine {
  readonly info: EngineInfo;
  /** Whether host calls (http_request, storage) work in every execution, or only in "async" ones. */
  readonly hostCallsAlwaysAvailable: boolean;
  run(job: SandboxJob, async: boolean): Promise<SandboxOutcome>;
  /** Compile-only check of a script (no code runs). */
  check(source: string): Promise<CompileProblem[]>;
  /** Counts for monitoring and tests. */
  stats(): EngineStats;
  dispose(): Promise<void>;
}

export interface EngineStats {
  sandboxes: number;
  contexts: number;
  /** Sandboxes (isolates/workers) thrown away after a timeout, OOM or crash. */
  recycledSandboxes: number;
  /** Contexts thrown away (tainted, timed out, evicted). */
  recycledContexts: number;
  executions: number;
}

export interface EngineOptions {
  /** Heap limit of each sandbox, MB. */
  memoryMb: number;
  /** Sandboxes (isolates or workers) run side by side; an execution blocked in http_request holds one. */
  sandboxes: number;
  /** Warm contexts kept per sandbox (one per isolation key, least recently used dropped). */
  contextsPerSandbox: number;
  /**
   * Longest the host stays awake for a sandbox's answer when nothing else keeps it busy, µs; a
   * sandbox process then stays awake SANDBOX_SPIN_FACTOR times as long for its next message (when the host is not busy). 0: both
   * sleep at once (see frame-channel.ts).
   */
  spinMicros?: number;
  /** Configuration of each context's driver (libraries…), JSON. */
  driverConfig: { maxLogChars: number; libraries: Array<{ name: string; global?: string; source: string }> };
}

/** Default host wait awake for a sandbox answer, µs (PLEXUS_SCRIPT_SPIN_US). */
export const DEFAULT_SPIN_MICROS = 500;
/** A sandbox stays awake this many times longer than the host does, waiting for the next message. */
export const SANDBOX_SPIN_FACTOR = 3;

/** Extra time after the deadline before a sandbox that does not give control back is killed. */
export const KILL_GRACE_MS = 1_000;

/** Sandbox payload: `levels` spliced in front of the rest of the body. */
export function composePayload(levels: DriverLevel[], body: string): string {
  return `{"levels":${JSON.stringify(levels)},${body.slice(1)}`;
}

/** The line and column a compiler error points at, from "… [script.js:3:5]" or "at script.js:3:5". */
export function compileLocation(text: string): { line: number; column: number } | undefined {
  const m = /script\.js:(\d+):(\d+)/.exec(text);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

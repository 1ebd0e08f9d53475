// The isolated-vm engine: real V8 isolates with a heap limit, in the host process. Each sandbox is
// one isolate with a warm context per isolation key (contexts are cheap to keep, ~1 ms to make).
// Executions are entered asynchronously, so the script runs on the isolate's own thread and the
// host's event loop keeps serving; http_request/storage block only the script (applySyncPromise).
// A timed-out execution costs its context; an out-of-memory or crashed one, its isolate.
import { DRIVER_SOURCE } from '../driver.js';
import type { DriverConfig } from '../driver.js';
import { KILL_GRACE_MS, compileLocation, composePayload } from './engine.js';
import type { CompileProblem, EngineInfo, EngineOptions, EngineStats, HostBridge, SandboxEngine, SandboxJob, SandboxOutcome } from './engine.js';
import { SandboxPool } from './sandbox-pool.js';
import type { PoolMember } from './sandbox-pool.js';

// The part of the isolated-vm API used here (5.x, 6.x and 7.x share it); declared locally so the
// project typechecks where the optional native module is not installed.
export interface IvmReference<T = unknown> {
  apply(receiver: unknown, args: unknown[], options?: { timeout?: number; result?: { copy?: boolean; reference?: boolean } }): Promise<T>;
  applySync(receiver: unknown, args: unknown[], options?: { timeout?: number; result?: { copy?: boolean; reference?: boolean } }): T;
  release(): void;
}
export interface IvmContext {
  release(): void;
}
export interface IvmScript {
  run(context: IvmContext, options?: { reference?: boolean; timeout?: number }): Promise<unknown>;
  release(): void;
}
export interface IvmIsolate {
  readonly isDisposed: boolean;
  createContext(): Promise<IvmContext>;
  compileScript(code: string, options?: { filename?: string }): Promise<IvmScript>;
  compileScriptSync(code: string, options?: { filename?: string }): IvmScript;
  getHeapStatisticsSync(): { used_heap_size: number; heap_size_limit: number };
  dispose(): void;
}
export interface IvmModule {
  Isolate: new (options: { memoryLimit: number; onCatastrophicError?: (message: string) => void }) => IvmIsolate;
  Callback: new (fn: (...args: any[]) => unknown) => unknown;
  Reference: new (value: unknown) => IvmReference;
}

interface ContextRecord {
  key: string;
  context: IvmContext;
  run: IvmReference<string>;
  /** Level sources this context has compiled. */
  hashes: Set<string>;
}

/** Default longest synchronous attempt (see IsolatedVmEngine.syncSliceMs). */
export const DEFAULT_SYNC_SLICE_MS = 25;
/** Sources whose synchronous attempt timed out this often go asynchronous directly. */
const SLOW_AFTER = 3;
/** Share of the heap limit above which an isolate is replaced after an execution. */
const HEAP_RECYCLE_RATIO = 0.8;
/** A context that compiled this many distinct sources is replaced (bounds the compile cache). */
const MAX_HASHES_PER_CONTEXT = 256;

class IvmSandbox implements PoolMember {
  readonly #ivm: IvmModule;
  readonly #options: EngineOptions;
  readonly #stats: EngineStats;
  readonly #configJson: string;
  #isolate?: IvmIsolate;
  #driver?: IvmScript;
  #broken = false;
  readonly #contexts = new Map<string, ContextRecord>();
  #current?: { rec: ContextRecord; bridge: HostBridge };
  /** Level-source signatures → how often their synchronous attempt ran out of its slice. */
  readonly #slow = new Map<string, number>();

  constructor(ivm: IvmModule, options: EngineOptions, stats: EngineStats) {
    this.#ivm = ivm;
    this.#options = options;
    this.#stats = stats;
    const config: DriverConfig = { asyncVia: 'reference', ...options.driverConfig };
    this.#configJson = JSON.stringify(config);
  }

  hasContext(key: string): boolean {
    return this.#contexts.has(key);
  }

  get contextCount(): number {
    return this.#contexts.size;
  }

  async #ensureIsolate(): Promise<IvmIsolate> {
    if (this.#isolate && !this.#isolate.isDisposed && !this.#broken) return this.#isolate;
    if (this.#isolate) this.#dropIsolate();
    const isolate = new this.#ivm.Isolate({
      memoryLimit: this.#options.memoryMb,
      onCatastrophicError: () => {
        this.#broken = true;
      },
    });
    this.#isolate = isolate;
    this.#broken = false;
    this.#driver = await isolate.compileScript(DRIVER_SOURCE, { filename: 'plexus-driver.js' });
    this.#stats.sandboxes++;
    return isolate;
  }

  #dropIsolate(): void {
    for (const rec of this.#contexts.values()) this.#releaseRecord(rec);
    this.#stats.contexts -= this.#contexts.size;
    this.#contexts.clear();
    if (!this.#isolate) return;
    try {
      if (this.#isolate && !this.#isolate.isDisposed) this.#isolate.dispose();
    } catch {
      // already gone
    }
    this.#isolate = undefined;
    this.#driver = undefined;
    this.#stats.recycledSandboxes++;
    this.#stats.sandboxes--;
  }

  #releaseRecord(rec: ContextRecord): void {
    try {
      rec.run.release();
      rec.context.release();
    } catch {
      // the isolate is already disposed
    }
  }

  #dropContext(rec: ContextRecord): void {
    if (this.#contexts.get(rec.key) === rec) this.#contexts.delete(rec.key);
    this.#releaseRecord(rec);
    this.#stats.recycledContexts++;
    this.#stats.contexts--;
  }

  async #context(key: string): Promise<ContextRecord> {
    const isolate = await this.#ensureIsolate();
    const existing = this.#contexts.get(key);
    if (existing) {
      // Most recently used last.
      this.#contexts.delete(key);
      this.#contexts.set(key, existing);
      return existing;
    }
    while (this.#contexts.size >= this.#options.contextsPerSandbox) {
      this.#dropContext(this.#contexts.values().next().value!);
    }
    const context = await isolate.createContext();
    const factory = (await this.#driver!.run(context, { reference: true })) as IvmReference;
    const rec = { key, context, hashes: new Set<string>() } as ContextRecord;
    // Host entry points, bound to this context: a call from any other context is refused.
    const hostSync = new this.#ivm.Callback((name: unknown, argsJson: unknown) => {
      const cur = this.#current;
      if (!cur || cur.rec !== rec || typeof name !== 'string' || typeof argsJson !== 'string') return '{"error":"no script is running here"}';
      return cur.bridge.pure(name, argsJson);
    });
    const hostAsync = new this.#ivm.Reference(async (name: unknown, argsJson: unknown) => {
      const cur = this.#current;
      if (!cur || cur.rec !== rec || typeof name !== 'string' || typeof argsJson !== 'string') return '{"error":"no script is running here"}';
      return cur.bridge.call(name, argsJson);
    });
    try {
      rec.run = await factory.apply(undefined, [hostSync, hostAsync, this.#configJson], { result: { reference: true } }) as unknown as IvmReference<string>;
    } finally {
      factory.release();
    }
    this.#contexts.set(key, rec);
    this.#stats.contexts++;
    return rec;
  }

  /**
   * `sync-first`: try a synchronous entry limited to `slice` ms (no thread hop: the fast path for
   * the usual short, pure handler); a script still running then is stopped, its context dropped,
   * and the execution runs again asynchronously with the rest of its budget. That is safe because a
   * synchronous run cannot make host calls (they need the async entry), so it had no effects.
   * Sources that needed the second run go asynchronous directly from then on.
   */
  async run(job: SandboxJob, mode: 'async' | 'sync-first', slice: number): Promise<SandboxOutcome> {
    const signature = job.levels.map((l) => l.hash).join(',') || job.body.slice(0, 200);
    if (mode === 'sync-first' && (this.#slow.get(signature) ?? 0) < SLOW_AFTER) {
      const first = await this.#attempt(job, false, Math.min(slice, job.deadline - Date.now()));
      if (first.kind !== 'timeout' || Date.now() >= job.deadline) return first;
      if (this.#slow.size >= 1_000) this.#slow.clear();
      this.#slow.set(signature, (this.#slow.get(signature) ?? 0) + 1);
    }
    return this.#attempt(job, true, job.deadline - Date.now());
  }

  async #attempt(job: SandboxJob, async: boolean, budget: number): Promise<SandboxOutcome> {
    let rec: ContextRecord;
    try {
      rec = await this.#context(job.key);
    } catch (err) {
      this.#dropIsolate();
      return { kind: 'crashed', message: `could not create a sandbox: ${(err as Error).message}` };
    }
    let outcome = await this.#exec(rec, job, async, false, budget);
    if (outcome.kind === 'done' && outcome.envelope.includes('"missing":true') && this.#contexts.get(job.key) === rec) {
      // The context lost a compiled source (should not happen): send every source again.
      rec.hashes.clear();
      outcome = await this.#exec(rec, job, async, true, budget);
    }
    this.#afterRun();
    return outcome;
  }

  async #exec(rec: ContextRecord, job: SandboxJob, async: boolean, allSources: boolean, budget: number): Promise<SandboxOutcome> {
    const levels = job.levels.map((l) => (allSources || !rec.hashes.has(l.hash) ? l : { level: l.level, hash: l.hash }));
    const payload = composePayload(levels, job.body);
    const remaining = Math.min(budget, job.deadline - Date.now());
    if (remaining <= 0) return { kind: 'timeout' };
    const isolate = this.#isolate!;
    this.#current = { rec, bridge: job.bridge };
    this.#stats.executions++;
    let killed = false;
    // The isolate's own timeout counts script time only, not time blocked in host calls:
    // past the deadline (plus grace) the whole isolate is disposed.
    const watchdog = setTimeout(() => {
      killed = true;
      try {
        isolate.dispose();
      } catch {
        // already disposed
      }
    }, remaining + KILL_GRACE_MS);
    try {
      const options = { timeout: Math.max(1, remaining), result: { copy: true } };
      const envelope = async ? await rec.run.apply(undefined, [payload], options) : rec.run.applySync(undefined, [payload], options);
      for (const l of job.levels) rec.hashes.add(l.hash);
      if (typeof envelope !== 'string') {
        this.#dropContext(rec);
        return { kind: 'crashed', message: 'the sandbox returned no result' };
      }
      if (envelope.includes('"tainted":true') || rec.hashes.size > MAX_HASHES_PER_CONTEXT) this.#dropContext(rec);
      return { kind: 'done', envelope };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (killed) {
        this.#dropIsolate();
        return { kind: 'timeout' };
      }
      if (isolate.isDisposed || /memory limit/i.test(message)) {
        this.#dropIsolate();
        return { kind: 'memory' };
      }
      // Terminated mid-run: the context's state is unknown, throw it away.
      this.#dropContext(rec);
      if (/timed out/i.test(message)) return { kind: 'timeout' };
      return { kind: 'crashed', message };
    } finally {
      clearTimeout(watchdog);
      this.#current = undefined;
    }
  }

  #afterRun(): void {
    const isolate = this.#isolate;
    if (!isolate || isolate.isDisposed) return;
    if (this.#broken) {
      this.#dropIsolate();
      return;
    }
    try {
      const heap = isolate.getHeapStatisticsSync();
      if (heap.used_heap_size > heap.heap_size_limit * HEAP_RECYCLE_RATIO) this.#dropIsolate();
    } catch {
      this.#dropIsolate();
    }
  }

  dispose(): void {
    if (this.#isolate) this.#dropIsolate();
  }
}

export class IsolatedVmEngine implements SandboxEngine {
  readonly info: EngineInfo;
  readonly hostCallsAlwaysAvailable = false;
  readonly #ivm: IvmModule;
  readonly #options: EngineOptions;
  readonly #pool: SandboxPool<IvmSandbox>;
  readonly #stats: EngineStats = { sandboxes: 0, contexts: 0, recycledSandboxes: 0, recycledContexts: 0, executions: 0 };
  #checker?: IvmIsolate;
  /**
   * Executions that cannot make host calls first enter the isolate synchronously for at most this
   * many ms (the event loop is blocked that long at most), then asynchronously. 0: always async.
   */
  readonly syncSliceMs: number;

  constructor(ivm: IvmModule, info: EngineInfo, options: EngineOptions & { syncSliceMs?: number }) {
    this.#ivm = ivm;
    this.info = info;
    this.#options = options;
    this.syncSliceMs = Math.max(0, Math.min(1_000, options.syncSliceMs ?? DEFAULT_SYNC_SLICE_MS));
    this.#pool = new SandboxPool(Array.from({ length: Math.max(1, options.sandboxes) }, () => new IvmSandbox(ivm, options, this.#stats)));
  }

  run(job: SandboxJob, async: boolean): Promise<SandboxOutcome> {
    const mode = async || this.syncSliceMs === 0 ? 'async' : 'sync-first';
    return this.#pool.use(job.key, (sandbox) => sandbox.run(job, mode, this.syncSliceMs));
  }

  async check(source: string): Promise<CompileProblem[]> {
    // A separate small isolate: compiling must not wait behind a running script.
    if (!this.#checker || this.#checker.isDisposed) this.#checker = new this.#ivm.Isolate({ memoryLimit: 32 });
    try {
      const script = this.#checker.compileScriptSync(source, { filename: 'script.js' });
      script.release();
      return [];
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const at = compileLocation(message);
      const text = message.replace(/\s*\[script\.js:\d+:\d+\]\s*$/, '');
      return [{ line: at?.line ?? 1, column: at?.column ?? 1, message: text }];
    }
  }

  stats(): EngineStats {
    return { ...this.#stats };
  }

  async dispose(): Promise<void> {
    for (const s of this.#pool.members) s.dispose();
    if (this.#checker && !this.#checker.isDisposed) this.#checker.dispose();
  }
}

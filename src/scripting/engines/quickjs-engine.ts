// The wasm fallback engine: QuickJS (quickjs-emscripten) in worker threads. Each worker owns one
// QuickJS module whose linear memory is capped (a WebAssembly.Memory with a maximum, plus an
// interrupt handler watching its size: QuickJS's own memory limit does not count bytes in this
// build), a 256 KB QuickJS stack, and warm contexts per isolation key. A worker that runs past its
// deadline is terminated and replaced; so is one whose memory grew past the cap.
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { RELEASE_SYNC, newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten';
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { DRIVER_SOURCE } from '../driver.js';
import type { DriverConfig } from '../driver.js';
import { KILL_GRACE_MS, compileLocation, composePayload } from './engine.js';
import type { CompileProblem, EngineInfo, EngineOptions, EngineStats, HostBridge, SandboxEngine, SandboxJob, SandboxOutcome } from './engine.js';
import { SandboxPool } from './sandbox-pool.js';
import type { PoolMember } from './sandbox-pool.js';
import type { FromWorker, QuickJsWorkerInit, ToWorker } from './quickjs-worker.js';

// Under tsx the sources are .ts files (the worker registers tsx's loader first); built, they are .js.
const FROM_TS = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_TS ? './quickjs-worker.ts' : './quickjs-worker.js', import.meta.url);

function workerEntry(): { entry: string | URL; eval: boolean } {
  if (!FROM_TS) return { entry: WORKER_URL, eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); }).catch((err) => { throw err; });`;
  return { entry: code, eval: true };
}

interface Live {
  worker: Worker;
  replyPort: MessagePort;
  flag: Int32Array;
  ready: Promise<void>;
  dead: boolean;
  /** Warm keys and the source hashes each has compiled (mirrors the worker). */
  keys: Map<string, Set<string>>;
  pending?: { id: number; resolve: (msg: Extract<FromWorker, { type: 'done' }> | { type: 'exit'; message: string }) => void };
}

class QuickJsSandbox implements PoolMember {
  readonly #options: EngineOptions;
  readonly #stats: EngineStats;
  readonly #configJson: string;
  #live?: Live;
  #bridge?: HostBridge;
  #nextId = 1;

  constructor(options: EngineOptions, stats: EngineStats) {
    this.#options = options;
    this.#stats = stats;
    const config: DriverConfig = { asyncVia: 'function', ...options.driverConfig };
    this.#configJson = JSON.stringify(config);
  }

  hasContext(key: string): boolean {
    return this.#live?.keys.has(key) ?? false;
  }

  #start(): Live {
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const init: QuickJsWorkerInit = {
      memoryMb: this.#options.memoryMb,
      contextsPerSandbox: this.#options.contextsPerSandbox,
      driverSource: DRIVER_SOURCE,
      configJson: this.#configJson,
      replyPort: port2,
      flag,
    };
    const { entry, eval: isEval } = workerEntry();
    const worker = new Worker(entry, {
      eval: isEval,
      workerData: init,
      transferList: [port2],
      // The worker's own JS heap holds payload strings; the script's memory is the wasm memory.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(128, this.#options.memoryMb * 4), stackSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    let readyResolve!: () => void;
    let readyReject!: (err: Error) => void;
    const live: Live = {
      worker,
      replyPort: port1,
      flag: new Int32Array(flag),
      ready: new Promise<void>((resolve, reject) => {
        readyResolve = resolve;
        readyReject = reject;
      }),
      dead: false,
      keys: new Map(),
    };
    live.ready.catch(() => undefined);
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') readyResolve();
      else if (msg.type === 'host') this.#hostCall(live, msg);
      else if (msg.type === 'done' && live.pending?.id === msg.id) {
        const p = live.pending;
        live.pending = undefined;
        p.resolve(msg);
      }
    });
    const onExit = (message: string) => {
      if (live.dead) return;
      live.dead = true;
      readyReject(new Error(message));
      const p = live.pending;
      live.pending = undefined;
      p?.resolve({ type: 'exit', message });
    };
    worker.on('error', (err) => onExit(err.message));
    worker.on('exit', (code) => onExit(`the sandbox worker exited (code ${code})`));
    this.#stats.sandboxes++;
    return live;
  }

  #hostCall(live: Live, msg: Extract<FromWorker, { type: 'host' }>): void {
    const reply = (result: string) => {
      if (live.dead) return;
      live.replyPort.postMessage({ seq: msg.seq, result });
      Atomics.store(live.flag, 0, 1);
      Atomics.notify(live.flag, 0);
    };
    const bridge = this.#bridge;
    if (!bridge) return reply('{"error":"no script is running here"}');
    bridge.call(msg.name, msg.argsJson).then(reply, () => reply('{"error":"the host call failed"}'));
  }

  #stop(live: Live, recycled: boolean): void {
    if (this.#live === live) this.#live = undefined;
    if (!live.dead) {
      live.dead = true;
      void live.worker.terminate();
    }
    live.replyPort.close();
    this.#stats.contexts -= live.keys.size;
    this.#stats.sandboxes--;
    if (recycled) this.#stats.recycledSandboxes++;
  }

  async run(job: SandboxJob): Promise<SandboxOutcome> {
    let live = this.#live;
    if (!live || live.dead) {
      if (live) this.#stop(live, true);
      live = this.#live = this.#start();
    }
    try {
      await live.ready;
    } catch (err) {
      this.#stop(live, true);
      return { kind: 'crashed', message: `could not start a sandbox: ${(err as Error).message}` };
    }
    const known = live.keys.get(job.key);
    const levels = job.levels.map((l) => (known?.has(l.hash) ? { level: l.level, hash: l.hash } : l));
    let outcome = await this.#exec(live, job, composePayload(levels, job.body));
    if (outcome.kind === 'done' && outcome.envelope.includes('"missing":true') && this.#live === live) {
      live.keys.delete(job.key);
      outcome = await this.#exec(live, job, composePayload(job.levels, job.body));
    }
    return outcome;
  }

  async #exec(live: Live, job: SandboxJob, payload: string): Promise<SandboxOutcome> {
    const remaining = job.deadline - Date.now();
    if (remaining <= 0) return { kind: 'timeout' };
    const id = this.#nextId++;
    this.#bridge = job.bridge;
    this.#stats.executions++;
    let watchdog: NodeJS.Timeout | undefined;
    try {
      const msg = await new Promise<Extract<FromWorker, { type: 'done' }> | { type: 'exit'; message: string } | { type: 'killed' }>((resolve) => {
        live.pending = { id, resolve };
        // A script stuck where the interrupt handler is not consulted is ended from outside.
        watchdog = setTimeout(() => resolve({ type: 'killed' }), remaining + KILL_GRACE_MS);
        live.worker.postMessage({ type: 'run', id, key: job.key, payload, deadline: job.deadline } satisfies ToWorker);
      });
      if (msg.type === 'killed') {
        live.pending = undefined;
        this.#stop(live, true);
        return { kind: 'timeout' };
      }
      if (msg.type === 'exit') {
        this.#stop(live, true);
        return /memory/i.test(msg.message) ? { kind: 'memory' } : { kind: 'crashed', message: msg.message };
      }
      for (const key of msg.dropped) {
        if (live.keys.delete(key)) {
          this.#stats.contexts--;
          this.#stats.recycledContexts++;
        }
      }
      if (msg.outcome.kind === 'done' || msg.outcome.kind === 'timeout') {
        if (!msg.dropped.includes(job.key)) {
          let hashes = live.keys.get(job.key);
          if (!hashes) {
            hashes = new Set();
            live.keys.set(job.key, hashes);
            this.#stats.contexts++;
          }
          for (const l of job.levels) hashes.add(l.hash);
        }
      }
      if (msg.recycle || msg.outcome.kind === 'memory') this.#stop(live, true);
      return msg.outcome;
    } finally {
      clearTimeout(watchdog);
      this.#bridge = undefined;
    }
  }

  dispose(): void {
    if (this.#live) this.#stop(this.#live, false);
  }
}

export class QuickJsEngine implements SandboxEngine {
  readonly info: EngineInfo;
  readonly hostCallsAlwaysAvailable = true;
  readonly #pool: SandboxPool<QuickJsSandbox>;
  readonly #stats: EngineStats = { sandboxes: 0, contexts: 0, recycledSandboxes: 0, recycledContexts: 0, executions: 0 };
  #checker?: Promise<QuickJSWASMModule>;

  constructor(info: EngineInfo, options: EngineOptions) {
    this.info = info;
    this.#pool = new SandboxPool(Array.from({ length: Math.max(1, options.sandboxes) }, () => new QuickJsSandbox(options, this.#stats)));
  }

  run(job: SandboxJob): Promise<SandboxOutcome> {
    return this.#pool.use(job.key, (sandbox) => sandbox.run(job));
  }

  async check(source: string): Promise<CompileProblem[]> {
    // Compile-only, on this thread: no script code runs, the parser's depth is bounded by the stack size.
    this.#checker ??= newQuickJSWASMModuleFromVariant(RELEASE_SYNC);
    const module = await this.#checker;
    const runtime = module.newRuntime();
    runtime.setMaxStackSize(256 * 1024);
    runtime.setMemoryLimit(64 * 1024 * 1024);
    const ctx = runtime.newContext();
    try {
      const res = ctx.evalCode(source, 'script.js', { compileOnly: true });
      if (!res.error) {
        res.value.dispose();
        return [];
      }
      const err = ctx.dump(res.error) as { message?: string; stack?: string } | undefined;
      res.error.dispose();
      const at = compileLocation(String(err?.stack ?? ''));
      return [{ line: at?.line ?? 1, column: at?.column ?? 1, message: String(err?.message ?? 'syntax error') }];
    } finally {
      ctx.dispose();
      runtime.dispose();
    }
  }

  stats(): EngineStats {
    return { ...this.#stats };
  }

  async dispose(): Promise<void> {
    for (const s of this.#pool.members) s.dispose();
  }
}

export const quickJsWorkerPath = (): string => fileURLToPath(WORKER_URL);

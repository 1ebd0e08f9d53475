// The wasm fallback engine: QuickJS (quickjs-emscripten) in worker threads. Each worker owns one
// QuickJS module whose linear memory is capped (a WebAssembly.Memory with a maximum, plus an
// interrupt handler watching its size: QuickJS's own memory limit does not count bytes in this
// build), a 256 KB QuickJS stack, and warm contexts per isolation key. A worker that runs past its
// deadline is terminated and replaced; so is one whose memory grew past the cap.
import { MessageChannel, Worker } from 'node:worker_threads';
import { RELEASE_SYNC, newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten';
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { DRIVER_SOURCE } from '../driver.js';
import type { DriverConfig } from '../driver.js';
import { compileLocation } from './engine.js';
import type { CompileProblem, EngineInfo, EngineOptions, EngineStats, SandboxEngine, SandboxJob, SandboxOutcome } from './engine.js';
import { RemoteSandbox } from './remote-sandbox.js';
import type { FromSandbox, SandboxTransport } from './remote-sandbox.js';
import { SandboxPool } from './sandbox-pool.js';
import type { QuickJsWorkerInit } from './quickjs-worker.js';

// Under tsx the sources are .ts files (the worker registers tsx's loader first); built, they are .js.
const FROM_TS = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_TS ? './quickjs-worker.ts' : './quickjs-worker.js', import.meta.url);

function workerEntry(): { entry: string | URL; eval: boolean } {
  if (!FROM_TS) return { entry: WORKER_URL, eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); }).catch((err) => { throw err; });`;
  return { entry: code, eval: true };
}

function workerTransport(options: EngineOptions, configJson: string): SandboxTransport {
  const { port1, port2 } = new MessageChannel();
  const flag = new SharedArrayBuffer(4);
  const flagView = new Int32Array(flag);
  const init: QuickJsWorkerInit = {
    memoryMb: options.memoryMb,
    contextsPerSandbox: options.contextsPerSandbox,
    driverSource: DRIVER_SOURCE,
    configJson,
    replyPort: port2,
    flag,
  };
  const { entry, eval: isEval } = workerEntry();
  const worker = new Worker(entry, {
    eval: isEval,
    workerData: init,
    transferList: [port2],
    // The worker's own JS heap holds payload strings; the script's memory is the wasm memory.
    resourceLimits: { maxOldGenerationSizeMb: Math.max(128, options.memoryMb * 4), stackSizeMb: 4 },
    stdout: false,
    stderr: false,
  });
  worker.unref();
  let exited = false;
  return {
    send: (msg) => worker.postMessage(msg),
    replyToHost(seq, result) {
      port1.postMessage({ seq, result });
      Atomics.store(flagView, 0, 1);
      Atomics.notify(flagView, 0);
    },
    onMessage: (fn) => worker.on('message', (msg: FromSandbox) => fn(msg)),
    onExit(fn) {
      const once = (reason: string) => {
        if (exited) return;
        exited = true;
        port1.close();
        fn(reason);
      };
      worker.on('error', (err) => once(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim()));
      worker.on('exit', (code) => once(`the sandbox worker exited (code ${code})`));
    },
    kill: () => void worker.terminate(),
  };
}

export class QuickJsEngine implements SandboxEngine {
  readonly info: EngineInfo;
  readonly hostCallsAlwaysAvailable = true;
  readonly #pool: SandboxPool<RemoteSandbox>;
  readonly #stats: EngineStats = { sandboxes: 0, contexts: 0, recycledSandboxes: 0, recycledContexts: 0, executions: 0 };
  #checker?: Promise<QuickJSWASMModule>;

  constructor(info: EngineInfo, options: EngineOptions) {
    this.info = info;
    const config: DriverConfig = { asyncVia: 'function', ...options.driverConfig };
    const configJson = JSON.stringify(config);
    this.#pool = new SandboxPool(Array.from({ length: Math.max(1, options.sandboxes) }, () => new RemoteSandbox(() => workerTransport(options, configJson), this.#stats)));
    for (const s of this.#pool.members) s.warm();
  }

  run(job: SandboxJob): Promise<SandboxOutcome> {
    // Host calls always work here (the worker blocks on them), so every execution is "async".
    return this.#pool.use(job.key, (sandbox) => sandbox.run(job, true));
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

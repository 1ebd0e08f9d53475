// The isolated-vm engine: real V8 isolates with a heap limit. Each sandbox is a small child process
// hosting one isolate with warm contexts per isolation key (isolated-vm-child.ts). Out of process,
// because V8 cannot always recover from an isolate that runs out of memory: some allocation
// failures abort the whole process (measured with isolated-vm 5.0.4: a dictionary-object memory
// bomb). A sandbox process that dies, hangs or outlives its deadline is killed and replaced; the
// host keeps serving.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DriverConfig } from '../driver.js';
import type { CompileProblem, EngineInfo, EngineOptions, EngineStats, SandboxEngine, SandboxJob, SandboxOutcome } from './engine.js';
import { RemoteSandbox } from './remote-sandbox.js';
import type { FromSandbox, SandboxTransport } from './remote-sandbox.js';
import { SandboxPool } from './sandbox-pool.js';
import type { IvmChildInit } from './isolated-vm-child.js';

const FROM_TS = import.meta.url.endsWith('.ts');
const CHILD_PATH = fileURLToPath(new URL(FROM_TS ? './isolated-vm-child.ts' : './isolated-vm-child.js', import.meta.url));
/** The last stderr text kept from a sandbox process (V8 prints why it aborted there). */
const STDERR_KEEP = 4_096;

function childTransport(init: IvmChildInit): SandboxTransport {
  // Under tsx, only its ESM hooks are registered in the child (`--import tsx` costs ~80 µs per
  // execution there, measured); built, the child is plain JavaScript.
  const tsx = FROM_TS ? ['--import', `data:text/javascript,import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register();`] : [];
  const execArgv = ['--no-node-snapshot', ...tsx];
  const child = fork(CHILD_PATH, [], { execArgv, serialization: 'json', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
  });
  // Idle sandboxes never keep the host alive; a running execution holds a timer that does.
  child.unref();
  child.channel?.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  child.send(init);
  let exited = false;
  return {
    send: (msg) => {
      if (!exited && child.connected) child.send(msg);
    },
    replyToHost: (seq, result) => {
      if (!exited && child.connected) child.send({ type: 'hostReply', seq, result });
    },
    onMessage: (fn) => child.on('message', (msg: FromSandbox) => fn(msg)),
    onExit(fn) {
      const once = (reason: string) => {
        if (exited) return;
        exited = true;
        fn(reason);
      };
      child.on('error', (err) => once(err.message));
      child.on('exit', (code, signal) => {
        // Let the last stderr chunk arrive: it says whether V8 ran out of memory.
        setImmediate(() => once(`the sandbox process exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-6).join(' | ')}`));
      });
    },
    kill: () => {
      exited = true;
      child.kill('SIGKILL');
    },
  };
}

/**
 * Starts a sandbox process with the given isolated-vm module and waits until its isolate runs:
 * undefined when it works, else why not.
 */
export async function smokeTestIsolatedVm(module: string, timeoutMs = 30_000): Promise<string | undefined> {
  const transport = childTransport({ type: 'init', module, memoryMb: 16, contextsPerSandbox: 1, configJson: JSON.stringify({ asyncVia: 'reference', maxLogChars: 100, libraries: [] }) });
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve('no answer from the sandbox process'), timeoutMs);
      transport.onMessage((msg) => {
        if (msg.type === 'ready') {
          clearTimeout(timer);
          resolve(undefined);
        }
      });
      transport.onExit((reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
  } finally {
    transport.kill();
  }
}

export class IsolatedVmEngine implements SandboxEngine {
  readonly info: EngineInfo;
  /** Host calls need the asynchronous entry; executions without them are entered synchronously. */
  readonly hostCallsAlwaysAvailable = false;
  readonly #pool: SandboxPool<RemoteSandbox>;
  readonly #checker: RemoteSandbox;
  readonly #stats: EngineStats = { sandboxes: 0, contexts: 0, recycledSandboxes: 0, recycledContexts: 0, executions: 0 };

  constructor(module: string, info: EngineInfo, options: EngineOptions) {
    this.info = info;
    const config: DriverConfig = { asyncVia: 'reference', ...options.driverConfig };
    const init: IvmChildInit = {
      type: 'init',
      module,
      memoryMb: options.memoryMb,
      contextsPerSandbox: options.contextsPerSandbox,
      configJson: JSON.stringify(config),
    };
    this.#pool = new SandboxPool(Array.from({ length: Math.max(1, options.sandboxes) }, () => new RemoteSandbox(() => childTransport(init), this.#stats)));
    // Compile checks get their own process: they must not wait behind a running script.
    this.#checker = new RemoteSandbox(() => childTransport({ ...init, contextsPerSandbox: 1 }), { ...this.#stats });
    // Sandbox processes take a moment to start: start them now.
    for (const s of this.#pool.members) s.warm();
  }

  run(job: SandboxJob, async: boolean): Promise<SandboxOutcome> {
    // Synchronous executions make no host calls: they may be pipelined to a sandbox.
    return this.#pool.use(job.key, (sandbox) => sandbox.run(job, async, !async), !async);
  }

  async check(source: string): Promise<CompileProblem[]> {
    const problems = await this.#checker.check(source);
    if (!Array.isArray(problems)) return [{ line: 1, column: 1, message: `the script could not be checked: ${problems.error}` }];
    return problems;
  }

  stats(): EngineStats {
    return { ...this.#stats };
  }

  async dispose(): Promise<void> {
    for (const s of this.#pool.members) s.dispose();
    this.#checker.dispose();
  }
}

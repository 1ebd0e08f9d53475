// The isolated-vm engine: real V8 isolates with a heap limit. Each sandbox is a small child process
// hosting one isolate with warm contexts per isolation key (isolated-vm-child.ts). Out of process,
// because V8 cannot always recover from an isolate that runs out of memory: some allocation
// failures abort the whole process (measured with isolated-vm 5.0.4: a dictionary-object memory
// bomb). A sandbox process that dies, hangs or outlives its deadline is killed and replaced; the
// host keeps serving.
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { DriverConfig } from '../driver.js';
import { DEFAULT_SPIN_MICROS, SANDBOX_SPIN_FACTOR } from './engine.js';
import type { CompileProblem, EngineInfo, EngineOptions, EngineStats, SandboxEngine, SandboxJob, SandboxOutcome } from './engine.js';
import { RemoteSandbox } from './remote-sandbox.js';
import type { FromSandbox, SandboxTransport, ToSandbox } from './remote-sandbox.js';
import { SandboxPool } from './sandbox-pool.js';
import { Doorbell, FrameChannel, SANDBOX_FRAME_BODIES, removeDoorbellFile, socketFd } from './frame-channel.js';
import type { IvmChildInit } from './isolated-vm-child.js';

const FROM_TS = import.meta.url.endsWith('.ts');
const CHILD_PATH = fileURLToPath(new URL(FROM_TS ? './isolated-vm-child.ts' : './isolated-vm-child.js', import.meta.url));
/** The last stderr text kept from a sandbox process (V8 prints why it aborted there). */
const STDERR_KEEP = 4_096;

function childTransport(init: IvmChildInit): SandboxTransport {
  // Under tsx, only its ESM hooks are registered in the child (`--import tsx` costs ~80 µs per
  // execution there, measured); built, the child is plain JavaScript.
  const tsx = FROM_TS ? ['--import', `data:text/javascript,import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register();`] : [];
  // Messages travel as frames on fd 3 (frame-channel.ts), not on Node's IPC channel.
  const child = spawn(process.execPath, ['--no-node-snapshot', ...tsx, CHILD_PATH], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const socket = child.stdio[3] as Socket;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
  });
  let listener: ((msg: FromSandbox) => void) | undefined;
  // Waiting awake needs the doorbell; its file is removed once the sandbox has it open (it answers `ready`).
  const bell = init.spinMicros > 0 ? Doorbell.create() : undefined;
  const channel = new FrameChannel<FromSandbox>(socket, socketFd(socket), SANDBOX_FRAME_BODIES, (msg) => {
    if (msg.type === 'ready' && bell) removeDoorbellFile(bell.path);
    listener?.(msg);
  });
  channel.doorbell = bell?.bell;
  // A write to a sandbox that just died: its exit is reported below.
  socket.on('error', () => undefined);
  // Idle sandboxes never keep the host alive; a running execution holds a timer that does.
  child.unref();
  socket.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  let exited = false;
  // The sandbox waits awake for a message only after answering a run that asked it to
  // (`awakeMicros`): only then does a frame need the doorbell.
  let sandboxMayWait = false;
  const send = (msg: ToSandbox | IvmChildInit | { type: 'hostReply'; seq: number; result: string }) => {
    if (exited || socket.destroyed) return;
    const ring = sandboxMayWait;
    if (msg.type === 'run') sandboxMayWait = (msg.awakeMicros ?? 0) > 0;
    channel.send(msg, ring);
  };
  send(bell ? { ...init, doorbellPath: bell.path } : init);
  return {
    send,
    replyToHost: (seq, result) => send({ type: 'hostReply', seq, result }),
    onMessage: (fn) => {
      listener = fn;
    },
    spin: (budgetMicros, done) => channel.spin(budgetMicros, done),
    onExit(fn) {
      const once = (reason: string) => {
        if (exited) return;
        exited = true;
        fn(reason);
      };
      child.on('error', (err) => once(err.message));
      child.on('exit', (code, signal) => {
        if (bell) removeDoorbellFile(bell.path);
        // Let the last stderr chunk arrive: it says whether V8 ran out of memory.
        setImmediate(() => once(`the sandbox process exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-6).join(' | ')}`));
      });
    },
    kill: () => {
      exited = true;
      child.kill('SIGKILL');
      if (bell) removeDoorbellFile(bell.path);
    },
  };
}

/**
 * Starts a sandbox process with the given isolated-vm module and waits until its isolate runs:
 * undefined when it works, else why not.
 */
export async function smokeTestIsolatedVm(module: string, timeoutMs = 30_000): Promise<string | undefined> {
  const transport = childTransport({ type: 'init', module, memoryMb: 16, contextsPerSandbox: 1, spinMicros: 0, configJson: JSON.stringify({ asyncVia: 'reference', maxLogChars: 100, libraries: [] }) });
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
    const spin = Math.max(0, options.spinMicros ?? DEFAULT_SPIN_MICROS);
    const init: IvmChildInit = {
      type: 'init',
      module,
      memoryMb: options.memoryMb,
      contextsPerSandbox: options.contextsPerSandbox,
      configJson: JSON.stringify(config),
      spinMicros: spin,
    };
    this.#pool = new SandboxPool(Array.from({ length: Math.max(1, options.sandboxes) }, () => new RemoteSandbox(() => childTransport(init), this.#stats, { host: spin, sandbox: spin * SANDBOX_SPIN_FACTOR })));
    // Compile checks get their own process: they must not wait behind a running script (and are
    // rare: nobody waits awake for them).
    this.#checker = new RemoteSandbox(() => childTransport({ ...init, contextsPerSandbox: 1, spinMicros: 0 }), { ...this.#stats });
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

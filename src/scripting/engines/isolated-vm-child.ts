// A sandbox process: one isolated-vm isolate (heap-limited) with a warm context per isolation key.
// It runs in its own process because V8 cannot always recover from an isolate running out of
// memory (some allocation failures abort the process: the isolated-vm README says as much); here
// that takes down only this process, and the host starts another.
//
// Scripts without host calls are entered synchronously (fastest; this process serves one execution
// at a time anyway); scripts with http_request/storage asynchronously, so the isolate can block on
// the host (applySyncPromise) while this process relays the call to the host process.
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { callPureHelper } from '../helpers/index.js';
import { DRIVER_SOURCE } from '../driver.js';
import { compileLocation } from './engine.js';
import { Doorbell, FrameChannel, SANDBOX_FRAME_BODIES } from './frame-channel.js';
import type { CompileProblem, SandboxOutcome } from './engine.js';
import type { FromSandbox, ToSandbox } from './remote-sandbox.js';
import type { IvmContext, IvmIsolate, IvmModule, IvmReference, IvmScript } from './ivm-types.js';

export interface IvmChildInit {
  type: 'init';
  module: string;
  memoryMb: number;
  contextsPerSandbox: number;
  configJson: string;
  /** Whether the host waits awake (µs, 0: never); each run says how long this process may (`awakeMicros`). */
  spinMicros: number;
  /** The doorbell file waiting awake watches (frame-channel.ts); set when spinMicros is. */
  doorbellPath?: string;
}

type ToChild = ToSandbox | IvmChildInit | { type: 'hostReply'; seq: number; result: string };

interface Rec {
  key: string;
  context: IvmContext;
  run: IvmReference<string>;
}

/** Share of the heap limit above which the isolate is replaced after an execution. */
const HEAP_RECYCLE_RATIO = 0.8;
/** Longest the restore of a context's global object after an execution may take (well under
 * KILL_GRACE_MS: the next execution waits for it, within the host watchdog's grace). */
const RESTORE_TIMEOUT_MS = 500;
/** Keys dropped after the last answer was sent: reported with the next one. */
const droppedLater: string[] = [];

const require = createRequire(import.meta.url);

let init: IvmChildInit;
let ivm: IvmModule;
let isolate: IvmIsolate | undefined;
let driver: IvmScript | undefined;
let broken = false;
const contexts = new Map<string, Rec>();
let current: Rec | undefined;
let seq = 0;
const waiting = new Map<number, (result: string) => void>();

function dropContext(key: string, dropped: string[]): void {
  const rec = contexts.get(key);
  if (!rec) return;
  contexts.delete(key);
  dropped.push(key);
  try {
    rec.run.release();
    rec.context.release();
  } catch {
    // the isolate is gone already
  }
}

function dropIsolate(dropped: string[]): void {
  for (const key of [...contexts.keys()]) dropContext(key, dropped);
  try {
    if (isolate && !isolate.isDisposed) isolate.dispose();
  } catch {
    // already disposed
  }
  isolate = undefined;
  driver = undefined;
}

async function ensureIsolate(): Promise<IvmIsolate> {
  if (isolate && !isolate.isDisposed && !broken) return isolate;
  dropIsolate([]);
  broken = false;
  isolate = new ivm.Isolate({
    memoryLimit: init.memoryMb,
    onCatastrophicError: () => {
      broken = true;
    },
  });
  driver = await isolate.compileScript(DRIVER_SOURCE, { filename: 'plexus-driver.js' });
  return isolate;
}

async function context(key: string, dropped: string[]): Promise<Rec> {
  const iso = await ensureIsolate();
  const existing = contexts.get(key);
  if (existing) {
    contexts.delete(key);
    contexts.set(key, existing);
    return existing;
  }
  while (contexts.size >= init.contextsPerSandbox) dropContext(contexts.keys().next().value!, dropped);
  const ctx = await iso.createContext();
  const factory = (await driver!.run(ctx, { reference: true })) as IvmReference;
  const rec = { key, context: ctx } as Rec;
  // Host entry points bound to this context: calls from any other context are refused.
  const hostSync = new ivm.Callback((name: unknown, argsJson: unknown) =>
    current === rec && typeof name === 'string' && typeof argsJson === 'string' ? callPureHelper(name, argsJson) : '{"error":"no script is running here"}',
  );
  const hostAsync = new ivm.Reference(async (name: unknown, argsJson: unknown) => {
    if (current !== rec || typeof name !== 'string' || typeof argsJson !== 'string') return '{"error":"no script is running here"}';
    const mine = ++seq;
    const answer = new Promise<string>((resolve) => waiting.set(mine, resolve));
    send({ type: 'host', seq: mine, name, argsJson });
    return answer;
  });
  try {
    rec.run = (await factory.apply(undefined, [hostSync, hostAsync, init.configJson], { result: { reference: true } })) as unknown as IvmReference<string>;
  } finally {
    factory.release();
  }
  contexts.set(key, rec);
  return rec;
}

async function run(msg: Extract<ToSandbox, { type: 'run' }>): Promise<void> {
  // A pipelined execution's time starts now (it may have waited here behind others).
  const deadline = msg.timeoutMs !== undefined ? Date.now() + msg.timeoutMs : msg.deadline;
  const dropped: string[] = [];
  let outcome: SandboxOutcome;
  let recycle = false;
  let rec: Rec | undefined;
  try {
    rec = await context(msg.key, dropped);
  } catch (err) {
    dropIsolate(dropped);
    send({ type: 'done', id: msg.id, outcome: { kind: 'crashed', message: `could not create a sandbox: ${(err as Error).message}` }, dropped, recycle: true }, msg.hostWaits);
    return;
  }
  const remaining = deadline - Date.now();
  if (remaining <= 0) {
    send({ type: 'done', id: msg.id, outcome: { kind: 'timeout' }, dropped, recycle: false }, msg.hostWaits);
    return;
  }
  current = rec;
  let restoreLater = false;
  try {
    // The context's global object is restored after the answer is sent (below), before anything
    // else runs here: the host does not wait for it.
    const options = { timeout: remaining, result: { copy: true } };
    const args = [msg.payload, true];
    const envelope = msg.async ? await rec.run.apply(undefined, args, options) : rec.run.applySync(undefined, args, options);
    restoreLater = typeof envelope === 'string';
    if (typeof envelope !== 'string') {
      dropContext(msg.key, dropped);
      outcome = { kind: 'crashed', message: 'the sandbox returned no result' };
    } else {
      if (envelope.includes('"tainted":true')) dropContext(msg.key, dropped);
      outcome = { kind: 'done', envelope };
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (isolate?.isDisposed || /memory limit/i.test(message)) {
      dropIsolate(dropped);
      outcome = { kind: 'memory' };
    } else {
      // Terminated mid-run: the context's state is unknown.
      dropContext(msg.key, dropped);
      outcome = /timed out/i.test(message) ? { kind: 'timeout' } : { kind: 'crashed', message };
    }
  } finally {
    current = undefined;
  }
  if (broken) {
    dropIsolate(dropped);
    recycle = true;
    restoreLater = false;
  }
  send({ type: 'done', id: msg.id, outcome, dropped: [...droppedLater.splice(0), ...dropped], recycle }, msg.hostWaits);
  // After the answer: restore the context's global object (a context that cannot be restored is
  // thrown away), then replace an isolate whose heap grew past the threshold. The keys dropped here
  // reach the host with the next answer; until then a run for such a key finds its compiled
  // sources gone and the host sends them again.
  if (restoreLater && contexts.get(msg.key) === rec) {
    try {
      if ((rec.run.applySync(undefined, [null], { timeout: RESTORE_TIMEOUT_MS, result: { copy: true } }) as unknown) !== false) dropContext(msg.key, droppedLater);
    } catch {
      if (isolate?.isDisposed) dropIsolate(droppedLater);
      else dropContext(msg.key, droppedLater);
    }
  }
  if (isolate && !isolate.isDisposed && !broken) {
    try {
      const heap = isolate.getHeapStatisticsSync();
      if (heap.used_heap_size > heap.heap_size_limit * HEAP_RECYCLE_RATIO) dropIsolate(droppedLater);
    } catch {
      dropIsolate(droppedLater);
    }
  } else if (broken) dropIsolate(droppedLater);
}

async function check(msg: Extract<ToSandbox, { type: 'check' }>): Promise<void> {
  let problems: CompileProblem[] = [];
  try {
    const iso = await ensureIsolate();
    iso.compileScriptSync(msg.source, { filename: 'script.js' }).release();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = compileLocation(message);
    problems = [{ line: at?.line ?? 1, column: at?.column ?? 1, message: message.replace(/\s*\[script\.js:\d+:\d+\]\s*$/, '') }];
  }
  send({ type: 'checked', id: msg.id, problems });
}

// One message at a time: a new execution starts only after the previous one answered.
let chain: Promise<void> = Promise.resolve();
/** Messages received and not yet handled. */
let queued = 0;
const socket = new Socket({ fd: 3, readable: true, writable: true });
const channel = new FrameChannel<ToChild>(socket, 3, SANDBOX_FRAME_BODIES, (msg) => {
  if (msg.type === 'hostReply') {
    const resolve = waiting.get(msg.seq);
    waiting.delete(msg.seq);
    resolve?.(msg.result);
    return;
  }
  queued++;
  chain = chain.then(async () => {
    try {
      if (msg.type === 'init') {
        init = msg;
        if (init.doorbellPath) channel.doorbell = Doorbell.open(init.doorbellPath);
        ivm = require(init.module) as IvmModule;
        await ensureIsolate();
        send({ type: 'ready' });
      } else if (msg.type === 'run') await run(msg);
      else if (msg.type === 'check') await check(msg);
    } finally {
      queued--;
    }
    // Idle again: stay awake a moment for the host's next message if it asked (frame-channel.ts says why).
    if (queued === 0 && msg.type === 'run' && msg.awakeMicros) channel.spin(msg.awakeMicros, () => queued > 0);
  });
});
/** `ring`: the host waits awake for this message (the run said so). */
function send(msg: FromSandbox, ring = false): void {
  channel.send(msg, ring);
}
// The host is gone: so are we.
socket.on('close', () => process.exit(0));
socket.on('error', () => process.exit(0));

// Worker thread of the quickjs engine: one QuickJS wasm module (its own linear memory, capped) with
// a warm context per isolation key. Pure helpers run here; http_request/storage are forwarded to
// the main thread and the script waits for the answer (Atomics.wait), so they look synchronous.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { RELEASE_SYNC, newQuickJSWASMModuleFromVariant, newVariant } from 'quickjs-emscripten';
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import { callPureHelper } from '../helpers/index.js';
import type { FromSandbox, ToSandbox } from './remote-sandbox.js';

export interface QuickJsWorkerInit {
  memoryMb: number;
  contextsPerSandbox: number;
  driverSource: string;
  configJson: string;
  replyPort: MessagePort;
  flag: SharedArrayBuffer;
}

type ToWorker = Extract<ToSandbox, { type: 'run' }>;
type FromWorker = FromSandbox;

const PAGE = 64 * 1024;
/** The module's own initial memory (16 MiB). */
const BASE_BYTES = 256 * PAGE;
const HEADROOM_BYTES = 32 * 1024 * 1024;
const STACK_BYTES = 256 * 1024;

const init = workerData as QuickJsWorkerInit;
const port = parentPort!;
const capBytes = BASE_BYTES + init.memoryMb * 1024 * 1024;
const memory = new WebAssembly.Memory({ initial: BASE_BYTES / PAGE, maximum: Math.ceil((capBytes + HEADROOM_BYTES) / PAGE) });
const module = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
const runtime = module.newRuntime();
runtime.setMaxStackSize(STACK_BYTES);
// Not byte-accurate in this build (see stack-evaluation.md); the wasm memory cap is the real bound.
runtime.setMemoryLimit(capBytes);

let deadline = 0;
let interrupted: 'timeout' | 'memory' | undefined;
runtime.setInterruptHandler(() => {
  if (memory.buffer.byteLength > capBytes) interrupted = 'memory';
  else if (Date.now() > deadline) interrupted = 'timeout';
  return interrupted !== undefined;
});

const flag = new Int32Array(init.flag);
let seq = 0;

/** Forwards a host call to the main thread and blocks until it answers (or the deadline passes). */
function callMain(name: string, argsJson: string): string {
  const mine = ++seq;
  Atomics.store(flag, 0, 0);
  port.postMessage({ type: 'host', seq: mine, name, argsJson } satisfies FromWorker);
  const giveUp = deadline + 1_000;
  for (;;) {
    for (let m = receiveMessageOnPort(init.replyPort); m; m = receiveMessageOnPort(init.replyPort)) {
      const msg = m.message as { seq: number; result: string };
      if (msg.seq === mine) return msg.result;
    }
    const left = giveUp - Date.now();
    if (left <= 0) return JSON.stringify({ error: 'the host did not answer before the time limit' });
    Atomics.wait(flag, 0, 0, left);
    Atomics.store(flag, 0, 0);
  }
}

interface Rec {
  ctx: QuickJSContext;
  run: QuickJSHandle;
}

const contexts = new Map<string, Rec>();

function text(ctx: QuickJSContext, h: QuickJSHandle | undefined): string | undefined {
  return h !== undefined && ctx.typeof(h) === 'string' ? ctx.getString(h) : undefined;
}

function dropContext(key: string, dropped: string[]): void {
  const rec = contexts.get(key);
  if (!rec) return;
  contexts.delete(key);
  dropped.push(key);
  try {
    rec.run.dispose();
    rec.ctx.dispose();
  } catch {
    // a context left in a bad state: the module goes with the worker
  }
}

function context(key: string, dropped: string[]): Rec {
  const existing = contexts.get(key);
  if (existing) {
    contexts.delete(key);
    contexts.set(key, existing);
    return existing;
  }
  while (contexts.size >= init.contextsPerSandbox) dropContext(contexts.keys().next().value!, dropped);
  const ctx = runtime.newContext();
  const hostSync = ctx.newFunction('hostSync', (nameH, argsH) => {
    const name = text(ctx, nameH);
    const args = text(ctx, argsH);
    return ctx.newString(name === undefined || args === undefined ? '{"error":"bad helper call"}' : callPureHelper(name, args));
  });
  const hostAsync = ctx.newFunction('hostAsync', (nameH, argsH) => {
    const name = text(ctx, nameH);
    const args = text(ctx, argsH);
    return ctx.newString(name === undefined || args === undefined ? '{"error":"bad helper call"}' : callMain(name, args));
  });
  const config = ctx.newString(init.configJson);
  const factory = ctx.unwrapResult(ctx.evalCode(init.driverSource, 'plexus-driver.js'));
  try {
    const run = ctx.unwrapResult(ctx.callFunction(factory, ctx.undefined, hostSync, hostAsync, config));
    const rec = { ctx, run };
    contexts.set(key, rec);
    return rec;
  } finally {
    factory.dispose();
    config.dispose();
    hostSync.dispose();
    hostAsync.dispose();
  }
}

function run(msg: ToWorker): void {
  const dropped: string[] = [];
  let outcome: Extract<FromWorker, { type: 'done' }>['outcome'];
  interrupted = undefined;
  // Making a context runs the driver's setup: give it time of its own.
  deadline = Date.now() + 5_000;
  let rec: Rec;
  try {
    rec = context(msg.key, dropped);
  } catch (err) {
    post({ type: 'done', id: msg.id, outcome: { kind: 'crashed', message: `could not create a sandbox: ${(err as Error).message}` }, dropped, recycle: true });
    return;
  }
  deadline = msg.deadline;
  interrupted = undefined;
  const { ctx } = rec;
  const payload = ctx.newString(msg.payload);
  // The global object is restored after the answer is posted (restoreAfter), before anything else
  // runs here.
  const res = ctx.callFunction(rec.run, ctx.undefined, payload, ctx.true);
  payload.dispose();
  if (res.error) {
    const err = ctx.dump(res.error) as { message?: string } | undefined;
    res.error.dispose();
    if (interrupted) {
      // Stopped mid-run. With promise jobs still queued for its context the whole worker goes;
      // otherwise only the context (a memory interrupt also recycles: the wasm memory never shrinks).
      const recycle = interrupted === 'memory' || runtime.hasPendingJob();
      if (!recycle) dropContext(msg.key, dropped);
      post({ type: 'done', id: msg.id, outcome: { kind: interrupted }, dropped, recycle });
      return;
    }
    dropContext(msg.key, dropped);
    outcome =
      interrupted === 'timeout'
        ? { kind: 'timeout' }
        : interrupted === 'memory'
          ? { kind: 'memory' }
          : { kind: 'crashed', message: String(err?.message ?? 'the sandbox failed') };
  } else {
    const envelope = ctx.typeof(res.value) === 'string' ? ctx.getString(res.value) : '';
    res.value.dispose();
    // Promise jobs the script queued run now (all of them, within the deadline), as V8 runs its
    // microtasks before a call returns.
    const jobs = runtime.executePendingJobs(-1);
    if (jobs.error) {
      jobs.error.dispose();
      if (!interrupted) dropContext(msg.key, dropped);
    }
    if (interrupted) {
      // Jobs may still be queued for this context: the whole worker goes.
      outcome = interrupted === 'timeout' ? { kind: 'timeout' } : { kind: 'memory' };
      post({ type: 'done', id: msg.id, outcome, dropped, recycle: true });
      return;
    } else if (!envelope) {
      dropContext(msg.key, dropped);
      outcome = { kind: 'crashed', message: 'the sandbox returned no result' };
    } else {
      if (envelope.includes('"tainted":true')) dropContext(msg.key, dropped);
      outcome = { kind: 'done', envelope };
    }
  }
  post({ type: 'done', id: msg.id, outcome, dropped, recycle: memory.buffer.byteLength > capBytes });
  if (outcome.kind === 'done') restoreAfter(msg.key, rec);
}

/** Keys dropped after the last answer was posted: reported with the next one. */
const droppedLater: string[] = [];

/** Restores a context's global object after its answer went out; a context that cannot be restored goes. */
function restoreAfter(key: string, rec: Rec): void {
  if (contexts.get(key) !== rec) return;
  // Well under KILL_GRACE_MS: the next execution waits for it.
  deadline = Date.now() + 500;
  interrupted = undefined;
  const { ctx } = rec;
  const res = ctx.callFunction(rec.run, ctx.undefined, ctx.null);
  if (res.error) {
    res.error.dispose();
    dropContext(key, droppedLater);
    return;
  }
  const tainted = ctx.typeof(res.value) !== 'boolean' || ctx.dump(res.value) !== false;
  res.value.dispose();
  if (tainted || interrupted) dropContext(key, droppedLater);
}

function post(msg: FromWorker): void {
  if (msg.type === 'done' && droppedLater.length > 0) msg = { ...msg, dropped: [...droppedLater.splice(0), ...msg.dropped] };
  port.postMessage(msg);
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'run') run(msg);
});
post({ type: 'ready' });

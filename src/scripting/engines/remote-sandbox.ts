// The host side of an out-of-thread sandbox: a worker thread (QuickJS) or a child process
// (isolated-vm). Both speak the same messages; this class sends executions, answers the sandbox's
// host calls, enforces the deadline from outside (terminate/kill), mirrors which isolation keys
// are warm, and starts a replacement when the sandbox dies — of a timeout, an out-of-memory abort
// or anything else. Nothing the script does can take the host process down with it.
import { performance } from 'node:perf_hooks';
import { KILL_GRACE_MS, composePayload } from './engine.js';
import type { CompileProblem, EngineStats, HostBridge, SandboxJob, SandboxOutcome } from './engine.js';
import type { PoolMember } from './sandbox-pool.js';

export type ToSandbox =
  | {
      type: 'run';
      id: number;
      key: string;
      payload: string;
      deadline: number;
      /** When set, the execution's time starts when the sandbox starts it (it may queue there first). */
      timeoutMs?: number;
      async: boolean;
      /** How long the sandbox stays awake for its next message after answering, µs (0: sleep at once). */
      awakeMicros?: number;
      /** The host waits awake for the answer: the sandbox rings the doorbell with it. */
      hostWaits?: boolean;
    }
  | { type: 'check'; id: number; source: string };

export type FromSandbox =
  | { type: 'ready' }
  | { type: 'host'; seq: number; name: string; argsJson: string }
  | {
      type: 'done';
      id: number;
      outcome: SandboxOutcome;
      /** Keys whose contexts were dropped (tainted, interrupted, evicted). */
      dropped: string[];
      /** The sandbox should be replaced (its memory grew past the cap, its isolate was lost…). */
      recycle: boolean;
    }
  | { type: 'checked'; id: number; problems: CompileProblem[] };

export interface SandboxTransport {
  send(msg: ToSandbox): void;
  /** Answers a host call the sandbox is waiting for. */
  replyToHost(seq: number, result: string): void;
  onMessage(fn: (msg: FromSandbox) => void): void;
  /** Reads the sandbox's messages synchronously for up to `budgetMicros`, until `done()` (frame-channel.ts). */
  spin?(budgetMicros: number, done: () => boolean): void;
  /** Called once when the sandbox is gone; `reason` may name an out-of-memory abort. */
  onExit(fn: (reason: string) => void): void;
  kill(): void;
}

type Settle = (
  msg: Extract<FromSandbox, { type: 'done' | 'checked' }> | { type: 'exit'; reason: string } | { type: 'killed' } | { type: 'requeue' },
) => void;

interface Live {
  transport: SandboxTransport;
  ready: Promise<void>;
  dead: boolean;
  /** It answered `ready`. */
  started: boolean;
  /** Warm keys and the source hashes each has compiled (mirrors the sandbox). */
  keys: Map<string, Set<string>>;
  /** Executions (and checks) sent and not answered, in the order sent: the first one is running. */
  pending: Map<number, { settle: Settle; timeoutMs: number }>;
}

/** Longest wait for a new sandbox (process or worker) to be ready. */
const START_TIMEOUT_MS = 30_000;
const OOM = /out of memory|heap limit|allocation failed|CALL_AND_RETRY_LAST|OOM|memory limit/i;

/** After this many waits awake in a row that missed their answer (long scripts)… */
const SPIN_MISSES = 3;
/** …this many executions go by before the next try. */
const SPIN_COOLDOWN = 32;
/** Share of its time the event loop may be busy (not counting waits awake) for the host to wait awake. */
const BUSY_LIMIT = 0.75;
/** Time spent waiting awake for answers, ms (it is not work: hostBusy leaves it out). */
let spentAwake = 0;
/** Executions sent to any sandbox and not answered: the host waits awake only for a lone one. */
let inFlight = 0;
let busySample = { at: 0, elu: performance.eventLoopUtilization(), awake: 0, busy: false };

/** Whether the host's event loop has had other work most of the last ~100 ms. */
function hostBusy(): boolean {
  const now = performance.now();
  if (now - busySample.at >= 100) {
    const elu = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(elu, busySample.elu);
    const total = delta.idle + delta.active;
    const working = delta.active - (spentAwake - busySample.awake);
    busySample = { at: now, elu, awake: spentAwake, busy: total > 0 && working / total > BUSY_LIMIT };
  }
  return busySample.busy;
}

export class RemoteSandbox implements PoolMember {
  readonly #start: () => SandboxTransport;
  readonly #stats: EngineStats;
  #live?: Live;
  #bridge?: HostBridge;
  #nextId = 1;

  readonly #spin: { host: number; sandbox: number };
  /** Waits awake in a row that ended without the answer. */
  #spinMisses = 0;
  /** Executions to go before waiting awake again, after SPIN_MISSES such waits. */
  #spinCooldown = 0;

  /**
   * `spin.host`: longest wait awake for an answer when the host has nothing else to do;
   * `spin.sandbox`: how long the sandbox then stays awake for its next message (0: never).
   */
  constructor(start: () => SandboxTransport, stats: EngineStats, spin = { host: 0, sandbox: 0 }) {
    this.#start = start;
    this.#stats = stats;
    this.#spin = spin;
  }

  hasContext(key: string): boolean {
    return this.#live?.keys.has(key) ?? false;
  }

  /** Starts the sandbox now (in the background), so the first execution does not wait for it. */
  warm(): void {
    if (!this.#live || this.#live.dead) this.#live = this.#spawn();
  }

  #spawn(): Live {
    const transport = this.#start();
    let readyResolve!: () => void;
    let readyReject!: (err: Error) => void;
    const live: Live = {
      transport,
      ready: new Promise<void>((resolve, reject) => {
        readyResolve = resolve;
        readyReject = reject;
      }),
      dead: false,
      started: false,
      keys: new Map(),
      pending: new Map(),
    };
    live.ready.catch(() => undefined);
    transport.onMessage((msg) => {
      if (msg.type === 'ready') {
        live.started = true;
        readyResolve();
      }
      else if (msg.type === 'host') this.#hostCall(live, msg);
      else if (msg.type === 'done' || msg.type === 'checked') {
        const p = live.pending.get(msg.id);
        if (p) {
          live.pending.delete(msg.id);
          p.settle(msg);
        }
      }
    });
    transport.onExit((reason) => {
      if (live.dead) return;
      live.dead = true;
      readyReject(new Error(reason));
      // The first execution sent was running; the ones behind it never started.
      let first = true;
      for (const p of this.#takePending(live)) {
        p.settle(first ? { type: 'exit', reason } : { type: 'requeue' });
        first = false;
      }
    });
    this.#stats.sandboxes++;
    return live;
  }

  #hostCall(live: Live, msg: Extract<FromSandbox, { type: 'host' }>): void {
    const reply = (result: string) => {
      if (!live.dead) live.transport.replyToHost(msg.seq, result);
    };
    const bridge = this.#bridge;
    if (!bridge) return reply('{"error":"no script is running here"}');
    bridge.call(msg.name, msg.argsJson).then(reply, () => reply('{"error":"the host call failed"}'));
  }

  #takePending(live: Live): Array<{ settle: Settle }> {
    const all = [...live.pending.values()];
    live.pending.clear();
    return all;
  }

  #stop(live: Live, recycled: boolean): void {
    if (this.#live === live) this.#live = undefined;
    if (!live.dead) {
      live.dead = true;
      live.transport.kill();
    }
    // Executions queued behind the one that ended this sandbox go to its replacement.
    for (const p of this.#takePending(live)) p.settle({ type: 'requeue' });
    this.#stats.contexts -= live.keys.size;
    this.#stats.sandboxes--;
    if (recycled) this.#stats.recycledSandboxes++;
  }

  async #ready(): Promise<Live | { error: string }> {
    let live = this.#live;
    if (!live || live.dead) {
      if (live) this.#stop(live, true);
      live = this.#live = this.#spawn();
    }
    // A started sandbox: no timer, no race.
    if (live.started) return live;
    // The timer also keeps the host's event loop alive while the sandbox starts (it is unref'd).
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([live.ready, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('it did not start in time')), START_TIMEOUT_MS)))]);
      return live;
    } catch (err) {
      this.#stop(live, true);
      return { error: `could not start a sandbox: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs one execution. `shared`: it makes no host calls, so the pool may send it while other
   * shared executions are in flight on this sandbox; its time starts when the sandbox starts it.
   * An execution that never started because its sandbox went away runs on the replacement.
   */
  async run(job: SandboxJob, async: boolean, shared = false): Promise<SandboxOutcome> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.#ready();
      if ('error' in live) return { kind: 'crashed', message: live.error };
      const known = live.keys.get(job.key);
      const levels = job.levels.map((l) => (known?.has(l.hash) ? { level: l.level, hash: l.hash } : l));
      let outcome = await this.#exec(live, job, composePayload(levels, job.body), async, shared);
      if (outcome !== 'requeue' && outcome.kind === 'done' && outcome.envelope.includes('"missing":true') && this.#live === live) {
        live.keys.delete(job.key);
        outcome = await this.#exec(live, job, composePayload(job.levels, job.body), async, shared);
      }
      if (outcome !== 'requeue') return outcome;
      if (attempt >= 3) return { kind: 'crashed', message: 'the sandbox was replaced before it ran the execution' };
    }
  }

  async #exec(live: Live, job: SandboxJob, payload: string, async: boolean, shared: boolean): Promise<SandboxOutcome | 'requeue'> {
    if (live.dead) return 'requeue';
    const remaining = Math.max(1, job.timeoutMs);
    // Executions sent before this one run first: their time (and the restore after each) counts
    // towards this one's watchdog, not towards its own time limit.
    let ahead = 0;
    for (const p of live.pending.values()) ahead += p.timeoutMs + KILL_GRACE_MS;
    const deadline = Date.now() + remaining;
    const id = this.#nextId++;
    job.bridge.begin(deadline);
    // Host calls are answered for the exclusive execution only (shared ones make none).
    if (!shared) this.#bridge = job.bridge;
    this.#stats.executions++;
    inFlight++;
    let watchdog: NodeJS.Timeout | undefined;
    try {
      const msg = await new Promise<Parameters<Settle>[0]>((settle) => {
        live.pending.set(id, { settle, timeoutMs: remaining });
        // The sandbox enforces the deadline itself; one that does not give control back is ended from outside.
        watchdog = setTimeout(() => settle({ type: 'killed' }), ahead + remaining + KILL_GRACE_MS);
        // The sandbox stays awake for the next message only while the host is not busy: under
        // load, a sandbox spinning on one of the few cores costs more than its wake-ups (measured).
        const awakeMicros = this.#spin.sandbox > 0 && !hostBusy() ? this.#spin.sandbox : 0;
        const hostWaits = this.#willWaitAwake(live, async);
        live.transport.send({ type: 'run', id, key: job.key, payload, deadline, ...(shared ? { timeoutMs: remaining } : {}), async, awakeMicros, hostWaits });
        if (hostWaits) this.#waitAwake(live, id);
      });
      if (msg.type === 'requeue') return 'requeue';
      if (msg.type === 'killed') {
        live.pending.delete(id);
        this.#stop(live, true);
        return { kind: 'timeout' };
      }
      if (msg.type === 'exit') {
        this.#stop(live, true);
        return OOM.test(msg.reason) ? { kind: 'memory' } : { kind: 'crashed', message: msg.reason };
      }
      if (msg.type !== 'done') return { kind: 'crashed', message: 'unexpected sandbox answer' };
      for (const key of msg.dropped) {
        if (live.keys.delete(key)) {
          this.#stats.contexts--;
          this.#stats.recycledContexts++;
        }
      }
      if ((msg.outcome.kind === 'done' || msg.outcome.kind === 'timeout') && !msg.dropped.includes(job.key)) {
        let hashes = live.keys.get(job.key);
        if (!hashes) {
          hashes = new Set();
          live.keys.set(job.key, hashes);
          this.#stats.contexts++;
        }
        for (const l of job.levels) hashes.add(l.hash);
      }
      if (msg.recycle) this.#stop(live, true);
      return msg.outcome;
    } finally {
      clearTimeout(watchdog);
      inFlight--;
      if (!shared) this.#bridge = undefined;
    }
  }

  /**
   * A lone execution (the only one in flight on any sandbox) with no host calls, while the host's
   * event loop is not busy: wait for its answer awake, briefly (frame-channel.ts says why). A wait
   * that ends without the answer (a long script), three times in a row, is not tried again for the
   * next few executions.
   */
  #willWaitAwake(live: Live, async: boolean): boolean {
    if (this.#spin.host <= 0 || async || !live.transport.spin || inFlight !== 1) return false;
    if (this.#spinCooldown > 0) {
      this.#spinCooldown--;
      return false;
    }
    return !hostBusy();
  }

  #waitAwake(live: Live, id: number): void {
    const started = performance.now();
    live.transport.spin!(this.#spin.host, () => !live.pending.has(id));
    spentAwake += performance.now() - started;
    if (!live.pending.has(id)) this.#spinMisses = 0;
    else if (++this.#spinMisses >= SPIN_MISSES) {
      this.#spinMisses = 0;
      this.#spinCooldown = SPIN_COOLDOWN;
    }
  }

  /** Compile-only check inside the sandbox (no script code runs). */
  async check(source: string, timeoutMs = 10_000): Promise<CompileProblem[] | { error: string }> {
    const live = await this.#ready();
    if ('error' in live) return live;
    const id = this.#nextId++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const msg = await new Promise<Parameters<Settle>[0]>((settle) => {
        live.pending.set(id, { settle, timeoutMs });
        timer = setTimeout(() => settle({ type: 'killed' }), timeoutMs);
        live.transport.send({ type: 'check', id, source });
      });
      if (msg.type === 'checked') return msg.problems;
      live.pending.delete(id);
      this.#stop(live, true);
      return { error: msg.type === 'exit' ? msg.reason : 'the compile check did not answer' };
    } finally {
      clearTimeout(timer);
    }
  }

  dispose(): void {
    if (this.#live) this.#stop(this.#live, false);
  }
}

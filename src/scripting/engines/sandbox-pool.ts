// Hands sandboxes to executions. An exclusive execution (one that may call the host) takes an idle
// sandbox that already has a warm context for its isolation key, else any idle one. Executions that
// may share (`shared`: no host calls, so no bridge to the host is needed; isolated-vm's synchronous
// runs) are pipelined — up to PIPELINE_DEPTH sent to one sandbox, which runs them one after the
// other — and packed: they go to a warm sandbox that is busy with quick executions before an idle
// one, so a sandbox is woken only when the busy ones are full (or slow). Otherwise an execution
// queues (the shortest queue among the warm sandboxes, or the shortest), and a sandbox that frees up
// with nobody of its own waiting takes over executions queued on another. A sandbox never runs two
// executions at once, and an exclusive execution has its sandbox to itself.

export interface PoolMember {
  hasContext(key: string): boolean;
}

/** Shared executions in flight on one sandbox at most. */
export const PIPELINE_DEPTH = 4;
/**
 * A busy sandbox takes more shared executions only while its oldest one has run less than this,
 * ms: one running a long script is passed over for an idle sandbox.
 */
export const PACK_WINDOW_MS = 5;

interface Waiter<T> {
  shared: boolean;
  go: () => void;
  /** The sandbox it is handed (the one it queued on, or one that took it over). */
  slot: Slot<T>;
}

interface Slot<T> {
  member: T;
  /** Executions handed this sandbox and not yet released. */
  active: number;
  /** An exclusive execution holds it. */
  exclusive: boolean;
  waiting: Waiter<T>[];
  /** When each execution handed it started, oldest first. */
  since: number[];
}

export class SandboxPool<T extends PoolMember> {
  readonly #slots: Slot<T>[];
  readonly #now: () => number;

  constructor(members: T[], now: () => number = () => performance.now()) {
    this.#slots = members.map((member) => ({ member, active: 0, exclusive: false, waiting: [], since: [] }));
    this.#now = now;
  }

  get members(): T[] {
    return this.#slots.map((s) => s.member);
  }

  async use<R>(key: string, fn: (member: T) => Promise<R>, shared = false): Promise<R> {
    const slot = await this.#acquire(key, shared);
    try {
      return await fn(slot.member);
    } finally {
      this.#release(slot);
    }
  }

  #fits(slot: Slot<T>, shared: boolean): boolean {
    return shared ? !slot.exclusive && slot.active < PIPELINE_DEPTH : slot.active === 0;
  }

  #take(slot: Slot<T>, shared: boolean): void {
    slot.active++;
    slot.since.push(this.#now());
    if (!shared) slot.exclusive = true;
  }

  async #acquire(key: string, shared: boolean): Promise<Slot<T>> {
    const warm = (s: Slot<T>) => s.member.hasContext(key);
    const fewest = (a: Slot<T>, b: Slot<T>) => (b.active < a.active ? b : a);
    let pick: Slot<T> | undefined;
    if (shared) {
      // Packed: a warm sandbox already running executions that started just now takes the next
      // one (it reads it without being woken), up to PIPELINE_DEPTH; then an idle warm one, any
      // idle one, the least busy. Waking a sleeping sandbox process costs more than a short wait
      // behind another execution (measured: docs/benchmarks.md, engine).
      const now = this.#now();
      const open = this.#slots.filter((s) => s.waiting.length === 0 && this.#fits(s, true));
      const quick = (s: Slot<T>) => s.active > 0 && now - s.since[0]! < PACK_WINDOW_MS;
      const busiest = (a: Slot<T> | undefined, b: Slot<T>) => (!a || b.active > a.active ? b : a);
      pick =
        open.filter((s) => warm(s) && quick(s)).reduce<Slot<T> | undefined>(busiest, undefined) ??
        open.find((s) => warm(s) && s.active === 0) ??
        open.find((s) => s.active === 0) ??
        open.filter(warm).reduce<Slot<T> | undefined>((a, b) => (a ? fewest(a, b) : b), undefined) ??
        open.reduce<Slot<T> | undefined>((a, b) => (a ? fewest(a, b) : b), undefined);
    } else {
      const idle = this.#slots.filter((s) => s.active === 0 && s.waiting.length === 0);
      pick = idle.find(warm) ?? idle[0];
    }
    if (pick) {
      this.#take(pick, shared);
      return pick;
    }
    const warmSlots = this.#slots.filter(warm);
    const target = (warmSlots.length ? warmSlots : this.#slots).reduce((a, b) => (b.waiting.length < a.waiting.length ? b : a));
    // #release hands a slot over already taken.
    let waiter!: Waiter<T>;
    await new Promise<void>((go) => target.waiting.push((waiter = { shared, go, slot: target })));
    return waiter.slot;
  }

  #release(slot: Slot<T>): void {
    slot.active--;
    // Pipelined executions end in the order they were sent.
    slot.since.shift();
    // An exclusive execution is the only one on its sandbox.
    slot.exclusive = false;
    while (slot.waiting.length > 0 && this.#fits(slot, slot.waiting[0]!.shared)) {
      const next = slot.waiting.shift()!;
      this.#take(slot, next.shared);
      next.go();
    }
    // Room left and nobody of its own waiting: take over executions waiting on other sandboxes
    // (one queued behind a long execution elsewhere need not wait for it).
    for (const other of this.#slots) {
      while (slot.waiting.length === 0 && other !== slot && other.waiting.length > 0 && this.#fits(slot, other.waiting[0]!.shared)) {
        const next = other.waiting.shift()!;
        next.slot = slot;
        this.#take(slot, next.shared);
        next.go();
      }
    }
  }
}

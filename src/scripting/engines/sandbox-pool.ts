// Hands sandboxes to executions: an idle sandbox that already has a warm context for the
// execution's isolation key first, then any idle one. Executions that may share (`shared`: no host
// calls, so no bridge to the host is needed; isolated-vm's synchronous runs) are then pipelined —
// up to PIPELINE_DEPTH sent to one sandbox, which runs them one after the other — so a sandbox does
// not sit idle while the host's event loop gets round to reading an answer. Otherwise an execution
// queues (the shortest queue among the warm sandboxes, or the shortest). A sandbox never runs two
// executions at once, and an exclusive execution (one that may call the host) has its sandbox to
// itself.

export interface PoolMember {
  hasContext(key: string): boolean;
}

/** Shared executions in flight on one sandbox at most. */
export const PIPELINE_DEPTH = 4;

interface Waiter {
  shared: boolean;
  go: () => void;
}

interface Slot<T> {
  member: T;
  /** Executions handed this sandbox and not yet released. */
  active: number;
  /** An exclusive execution holds it. */
  exclusive: boolean;
  waiting: Waiter[];
}

export class SandboxPool<T extends PoolMember> {
  readonly #slots: Slot<T>[];

  constructor(members: T[]) {
    this.#slots = members.map((member) => ({ member, active: 0, exclusive: false, waiting: [] }));
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
    if (!shared) slot.exclusive = true;
  }

  async #acquire(key: string, shared: boolean): Promise<Slot<T>> {
    const warm = (s: Slot<T>) => s.member.hasContext(key);
    const fewest = (a: Slot<T>, b: Slot<T>) => (b.active < a.active ? b : a);
    const idle = this.#slots.filter((s) => s.active === 0 && s.waiting.length === 0);
    let pick: Slot<T> | undefined = idle.find(warm) ?? idle[0];
    if (!pick && shared) {
      const open = this.#slots.filter((s) => s.waiting.length === 0 && this.#fits(s, true));
      const openWarm = open.filter(warm);
      pick = (openWarm.length ? openWarm : open).reduce<Slot<T> | undefined>((a, b) => (a ? fewest(a, b) : b), undefined);
    }
    if (pick) {
      this.#take(pick, shared);
      return pick;
    }
    const warmSlots = this.#slots.filter(warm);
    const target = (warmSlots.length ? warmSlots : this.#slots).reduce((a, b) => (b.waiting.length < a.waiting.length ? b : a));
    // #release hands the slot over already taken.
    await new Promise<void>((go) => target.waiting.push({ shared, go }));
    return target;
  }

  #release(slot: Slot<T>): void {
    slot.active--;
    // An exclusive execution is the only one on its sandbox.
    slot.exclusive = false;
    while (slot.waiting.length > 0 && this.#fits(slot, slot.waiting[0]!.shared)) {
      const next = slot.waiting.shift()!;
      this.#take(slot, next.shared);
      next.go();
    }
  }
}

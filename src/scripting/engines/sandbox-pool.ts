// Hands sandboxes to executions one at a time: an idle sandbox that already has a warm context for
// the execution's isolation key first, then any idle one, else a queue (on the warm one, or the
// shortest queue). A sandbox never runs two executions at once.

export interface PoolMember {
  hasContext(key: string): boolean;
}

interface Slot<T> {
  member: T;
  busy: boolean;
  waiting: Array<() => void>;
}

export class SandboxPool<T extends PoolMember> {
  readonly #slots: Slot<T>[];

  constructor(members: T[]) {
    this.#slots = members.map((member) => ({ member, busy: false, waiting: [] }));
  }

  get members(): T[] {
    return this.#slots.map((s) => s.member);
  }

  async use<R>(key: string, fn: (member: T) => Promise<R>): Promise<R> {
    const slot = await this.#acquire(key);
    try {
      return await fn(slot.member);
    } finally {
      this.#release(slot);
    }
  }

  async #acquire(key: string): Promise<Slot<T>> {
    const idle = this.#slots.filter((s) => !s.busy && s.waiting.length === 0);
    const pick = idle.find((s) => s.member.hasContext(key)) ?? idle[0];
    if (pick) {
      pick.busy = true;
      return pick;
    }
    const warm = this.#slots.find((s) => s.member.hasContext(key));
    const target = warm ?? this.#slots.reduce((a, b) => (b.waiting.length < a.waiting.length ? b : a));
    await new Promise<void>((resolve) => target.waiting.push(resolve));
    // #release handed the slot over still marked busy.
    return target;
  }

  #release(slot: Slot<T>): void {
    const next = slot.waiting.shift();
    if (next) next();
    else slot.busy = false;
  }
}

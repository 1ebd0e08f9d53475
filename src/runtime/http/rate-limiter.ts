// Per-key request spacing (Cyclr: limits per account connector; excess calls are queued,
// never dropped). In-process only: several worker processes each keep their own spacing.
import { setTimeout as delay } from 'node:timers/promises';

export interface RateLimits {
  requestsPerSecond?: number;
  secondsBetweenRequests?: number;
}

export interface RateLimiterOptions {
  /** Monotonic clock in ms. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The minimum gap between two calls, honouring the stricter of the two settings. */
export function spacingMs(limits: RateLimits): number {
  const { requestsPerSecond: rps, secondsBetweenRequests: sbr } = limits;
  return Math.max(rps && rps > 0 ? 1000 / rps : 0, sbr && sbr > 0 ? sbr * 1000 : 0);
}

const SWEEP_EVERY = 256;

export class RateLimiter {
  // key → earliest time the next call may start. Each acquire reserves its slot synchronously,
  // so slots are handed out in call order (FIFO) without a queue.
  private readonly nextSlot = new Map<string, number>();
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private calls = 0;

  constructor(options: RateLimiterOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  }

  /** Resolves when the call may go; returns the wait in ms (0 when none). */
  async acquire(key: string, limits: RateLimits, signal?: AbortSignal): Promise<number> {
    const gap = spacingMs(limits);
    if (gap <= 0) return 0;
    const now = this.now();
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now);
    const slot = Math.max(now, this.nextSlot.get(key) ?? now);
    this.nextSlot.set(key, slot + gap);
    const wait = slot - now;
    if (wait > 0) {
      // On abort the reserved slot stays taken: later callers wait a little longer, never less.
      await this.sleep(wait, signal).catch((err: unknown) => {
        throw signal?.aborted ? signal.reason : err;
      });
      signal?.throwIfAborted();
    }
    return wait;
  }

  /** Number of keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.nextSlot.size;
  }

  // A key whose next slot is already past behaves exactly like an unknown key, so drop it.
  private sweep(now: number): void {
    for (const [key, slot] of this.nextSlot) if (slot <= now) this.nextSlot.delete(key);
  }
}

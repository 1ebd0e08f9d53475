/** Injected wherever time matters, so rules and tests never read the real clock directly. */
export interface Clock {
  now(): Date
}
export const systemClock: Clock = { now: () => new Date() }

// "Retry after a wait" (Cyclr's On Step Error): escalating waits between attempts.
export const DEFAULT_RETRY_WAITS_MS = [5, 35, 95, 275, 635].map((m) => m * 60_000)

/** The wait before retry number `retry` (1-based); past the table, its last value repeats. */
export const retryWaitMs = (retry: number, waits: readonly number[] = DEFAULT_RETRY_WAITS_MS): number => waits[Math.min(retry, waits.length) - 1]

// Polls a probe until it gives a truthy value (returned) or the deadline passes: tests wait for
// conditions, never for fixed times (CI machines are loaded and slow).
import { setTimeout as sleep } from 'node:timers/promises'

export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

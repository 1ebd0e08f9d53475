// "Did you mean …?" for near-misses of known names (properties, variables, method ids).

/** ` (did you mean "description"?)` when `name` is a near-miss of one of `known`, else `''`. */
export function suggest(name: string, known: Iterable<string>, quote: (s: string) => string = (s) => `"${s}"`): string {
  const lower = name.toLowerCase()
  let best: { k: string; d: number } | undefined
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : distance(lower, k.toLowerCase())
    if (d <= Math.max(1, Math.floor(k.length / 4)) && (!best || d < best.d)) best = { k, d }
  }
  return best && best.k !== name ? ` (did you mean ${quote(best.k)}?)` : ''
}

/** Levenshtein distance; names are short, so the quadratic table is fine. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]
}

// A validation problem: where (a JSON pointer into the release document) and what is wrong.
// Shared by draft saves (400), push (422) and lint, so every check speaks the same language.

export interface Problem {
  /** JSON pointer into `{settings, definition}`, e.g. `/definition/methods/2/id`. */
  path: string
  message: string
}

/** Escapes one JSON pointer segment (RFC 6901): `~` → `~0`, `/` → `~1`. */
export const escapeSegment = (segment: string | number): string => String(segment).replace(/~/g, '~0').replace(/\//g, '~1')

/** Appends segments to a JSON pointer: `at('/definition', 'methods', 0)` → `/definition/methods/0`. */
export const at = (base: string, ...segments: (string | number)[]): string =>
  segments.reduce<string>((path, s) => `${path}/${escapeSegment(s)}`, base)

/** Keeps the first occurrence of each (path, message) pair, in order. */
export function dedupeProblems<T extends Problem>(problems: readonly T[]): T[] {
  const seen = new Set<string>()
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** `path: message`, one per line: how problems are shown in CLI output and error summaries. */
export const formatProblems = (problems: readonly Problem[]): string => problems.map((p) => `${p.path || '/'}: ${p.message}`).join('\n')

/** A short, quoted rendering of a bad value for messages: `"actio"`, `5`, `an object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  if (value === undefined) return 'nothing'
  return String(value)
}

// Human-readable output by default, the raw JSON with --json; errors as `error CODE: message`.
import { ApiError } from './http.js'

export interface CliIO {
  stdout: { write(chunk: string | Uint8Array): unknown }
  /** `isTTY`/`columns` (as on process.stderr) turn bulk progress into a redrawn bar */
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number }
  env: Record<string, string | undefined>
}

type Cell = string | number | boolean | null | undefined

export class Output {
  constructor(
    private readonly io: CliIO,
    readonly json: boolean,
  ) {}

  print(text = ''): void {
    this.io.stdout.write(text + '\n')
  }

  /** With --json the value as JSON; otherwise the human rendering. */
  result(value: unknown, human: () => void): void {
    if (this.json) this.print(JSON.stringify(value, null, 2))
    else human()
  }

  /** Left-aligned columns; empty cells as `-`. */
  table(headers: string[], rows: Cell[][]): void {
    if (!rows.length) return this.print('(none)')
    const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))]
    const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
    for (const r of cells) this.print(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
  }

  /** `label  value` lines with the labels aligned. */
  fields(pairs: [string, Cell][]): void {
    const width = Math.max(...pairs.map(([k]) => k.length))
    for (const [k, v] of pairs) this.print(`${k.padEnd(width)}  ${v === null || v === undefined || v === '' ? '-' : v}`)
  }
}

export interface Problem {
  path?: string
  message?: string
  code?: string
}

export interface Change {
  type?: string
  breaking?: boolean
  message?: string
  path?: string
}

/** `path: message` (a 422 problem, a lint finding). */
export const formatProblem = (p: Problem): string => (p.path ? `${p.path}: ${p.message ?? ''}` : (p.message ?? JSON.stringify(p)))

/** A diff change with a BREAKING marker. */
export const formatChange = (c: Change): string => `${c.breaking ? 'BREAKING' : 'additive'}  ${c.message ?? c.type ?? 'changed'}${c.path ? `  (${c.path})` : ''}`

function formatDetail(d: unknown): string {
  if (d === null || typeof d !== 'object') return String(d)
  return 'breaking' in d ? formatChange(d as Change) : formatProblem(d as Problem)
}

/** The stderr lines of an API error: `error CODE: message`, then one line per detail. */
export function formatApiError(err: ApiError): string[] {
  const lines = [`error ${err.code}: ${err.message}`]
  if (Array.isArray(err.details)) lines.push(...err.details.map((d) => `  ${formatDetail(d)}`))
  else if (err.details !== undefined) lines.push(`  ${JSON.stringify(err.details)}`)
  return lines
}

// Shared state of one OpenAPI import: the source document, its version, the options and the report
// (what was mapped, what was skipped and why, and warnings).

export type Obj = Record<string, unknown>
export type OpenApiVersion = '2.0' | '3.0' | '3.1'

export interface SkippedItem {
  /** JSON pointer into the source document (`#/paths/~1pets/get/parameters/1`). */
  path: string
  reason: string
}

export interface ImportReport {
  /** Number of operations mapped to methods. */
  mapped: number
  skipped: SkippedItem[]
  warnings: string[]
}

export interface OpenApiImportOptions {
  /** Maximum number of segments in a flattened field location (`a.b.c` = 3). Default 3. */
  maxFieldDepth?: number
  /** Maximum number of request (or response) fields per method. Default 200. */
  maxFieldsPerBody?: number
  /** Maximum size of the document text in characters. Default 100,000,000. */
  maxDocumentLength?: number
}

export const DEFAULT_OPTIONS: Required<OpenApiImportOptions> = {
  maxFieldDepth: 3,
  maxFieldsPerBody: 200,
  maxDocumentLength: 100_000_000,
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
export const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined)

/** Builds a JSON pointer (RFC 6901) from path segments. */
export const pointer = (...segments: Array<string | number>): string =>
  '#/' + segments.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

/** Appends segments to an existing pointer. */
export const child = (base: string, ...segments: Array<string | number>): string =>
  base + '/' + segments.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

export class ImportContext {
  readonly report: ImportReport = { mapped: 0, skipped: [], warnings: [] }
  readonly #warned = new Set<string>()

  constructor(
    readonly doc: Obj,
    readonly version: OpenApiVersion,
    readonly options: Required<OpenApiImportOptions>,
  ) {}

  skip(path: string, reason: string): void {
    this.report.skipped.push({ path, reason })
  }

  warn(message: string): void {
    if (this.#warned.has(message)) return
    this.#warned.add(message)
    this.report.warnings.push(message)
  }
}

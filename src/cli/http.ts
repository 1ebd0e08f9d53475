// A small client for the Plexus HTTP API: bearer auth, JSON in and out, the error shape
// {error: {code, message, details?}} turned into ApiError, and connection failures into
// UnreachableError (exit 3).
import { request } from 'undici'

/** The server answered 4xx/5xx. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
  }
}

/** The server could not be reached at all. */
export class UnreachableError extends Error {}

export interface RequestOptions {
  /** A JSON body. */
  json?: unknown
  /** A raw body, sent with `contentType`. */
  body?: string | Buffer
  contentType?: string
  query?: Record<string, string | undefined>
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'])

/** Encodes every interpolated value as one path segment: path`/v1/connectors/${cid}`. */
export const path = (parts: TemplateStringsArray, ...values: string[]): string =>
  parts.reduce((acc, part, i) => acc + part + (i < values.length ? encodeURIComponent(values[i]) : ''), '')

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** The raw response body (undefined for 204). */
  async send(method: string, route: string, opts: RequestOptions = {}): Promise<Buffer | undefined> {
    const query = Object.entries(opts.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined)
    const url = this.baseUrl.replace(/\/+$/, '') + route + (query.length ? `?${new URLSearchParams(query)}` : '')
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json, application/yaml;q=0.9, image/png;q=0.8' }
    let body: string | Buffer | undefined = opts.body
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json)
      headers['content-type'] = 'application/json'
    } else if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream'
    }
    let res
    try {
      res = await request(url, { method: method as 'GET', headers, body })
    } catch (err) {
      const code = (err as { code?: string }).code ?? ''
      if (CONNECTION_ERRORS.has(code)) throw new UnreachableError(`cannot reach the Plexus server at ${this.baseUrl} (${code})`)
      throw err
    }
    const data = Buffer.from(await res.body.arrayBuffer())
    if (res.statusCode >= 400) throw toApiError(res.statusCode, data)
    return res.statusCode === 204 ? undefined : data
  }

  /** The parsed JSON response (undefined for 204). */
  async json<T = unknown>(method: string, route: string, opts: RequestOptions = {}): Promise<T> {
    const data = await this.send(method, route, opts)
    return (data === undefined || data.length === 0 ? undefined : JSON.parse(data.toString('utf8'))) as T
  }

  /** Every item of a paged list (`{items, nextCursor}`). */
  async all<T>(route: string): Promise<T[]> {
    const items: T[] = []
    let after: string | undefined
    do {
      const page = await this.json<{ items: T[]; nextCursor?: string | null }>('GET', route, { query: { after } })
      items.push(...page.items)
      after = page.nextCursor ?? undefined
    } while (after)
    return items
  }
}

function toApiError(status: number, data: Buffer): ApiError {
  const text = data.toString('utf8')
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } }
    if (error?.code) return new ApiError(status, error.code, error.message ?? '', error.details)
  } catch {
    // not our error shape: fall through
  }
  return new ApiError(status, `HTTP_${status}`, text.slice(0, 500) || `the server answered ${status}`)
}

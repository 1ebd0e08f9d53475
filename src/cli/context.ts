// What every command action gets: the output, and API clients resolved from the global options
// (--url, --api-key, --admin-token, --json) and the environment.
import { readFileSync } from 'node:fs'
import { type Command, InvalidArgumentError } from 'commander'
import { ApiClient } from './http.js'
import { type CliIO, Output } from './output.js'

export const DEFAULT_URL = 'http://127.0.0.1:8080'

export interface Context {
  io: CliIO
  out: Output
  /** A client with the partner API key (PLEXUS_API_KEY / --api-key). */
  api(): ApiClient
  /** A client with the admin token (PLEXUS_ADMIN_TOKEN / --admin-token). */
  admin(): ApiClient
  /** A usage error: printed with the command's help hint, exit 2. */
  usage(message: string): never
  /** The bytes of a file named on the command line (a usage error when unreadable). */
  readFile(file: string): Buffer
  /** The exit code when the command finishes without an error (e.g. lint found errors). */
  exitCode(code: number): void
}

interface GlobalOptions {
  json?: boolean
  url?: string
  apiKey?: string
  adminToken?: string
}

export function makeContext(cmd: Command, io: CliIO, status: { code: number }): Context {
  const g = cmd.optsWithGlobals<GlobalOptions>()
  const usage = (message: string): never => cmd.error(`error: ${message}`, { exitCode: 2, code: 'plexus.usage' })
  const client = (token: string | undefined, missing: string) => {
    const url = g.url ?? io.env.PLEXUS_URL ?? DEFAULT_URL
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) usage(`PLEXUS_URL is not an http(s) URL: ${url}`)
    if (!token) usage(missing)
    return new ApiClient(url, token as string)
  }
  return {
    io,
    out: new Output(io, !!g.json),
    api: () => client(g.apiKey ?? io.env.PLEXUS_API_KEY, 'no API key: set PLEXUS_API_KEY or pass --api-key'),
    admin: () => client(g.adminToken ?? io.env.PLEXUS_ADMIN_TOKEN, 'this command needs the admin token: set PLEXUS_ADMIN_TOKEN or pass --admin-token'),
    usage,
    exitCode: (code) => void (status.code = code),
    readFile(file) {
      try {
        return readFileSync(file)
      } catch (err) {
        return usage(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      }
    },
  }
}

/** An option value that must be a whole number. */
export function parseCount(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number')
  return n
}

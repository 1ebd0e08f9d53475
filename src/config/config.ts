// Environment parsed once into a typed, frozen config (SPEC §9).
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

export interface Config {
  readonly port: number
  readonly host: string
  readonly databaseUrl: string
  readonly dataDir: string
  readonly adminToken: string
  /** True when the admin token was generated on this start and must be shown once. */
  readonly adminTokenGenerated: boolean
  readonly secretKey: Buffer
  readonly allowPrivateNetwork: boolean
  /** The externally reachable base URL (OAuth2 redirect URIs are built on it); null: from the request. */
  readonly publicUrl: string | null
  readonly bodyLimitBytes: number
  readonly logLevel: string
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v)

/** Reads a secret from the data folder, creating it on first use so restarts keep it. */
function persistedSecret(dataDir: string, file: string, make: () => string): { value: string; generated: boolean } {
  const path = join(dataDir, file)
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), generated: false }
  mkdirSync(dataDir, { recursive: true })
  const value = make()
  writeFileSync(path, value + '\n', { mode: 0o600 })
  return { value, generated: true }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.PLEXUS_DATABASE_URL ?? 'sqlite:./data/plexus.db'
  const dataDir = resolve(
    env.PLEXUS_DATA_DIR ?? (databaseUrl.startsWith('sqlite:') && databaseUrl !== 'sqlite::memory:' ? dirname(databaseUrl.slice(7)) : './data'),
  )
  const port = Number(env.PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be an integer 0-65535; got ${env.PORT}`)

  let adminToken = env.PLEXUS_ADMIN_TOKEN ?? ''
  let adminTokenGenerated = false
  if (!adminToken) {
    const s = persistedSecret(dataDir, 'admin-token', () => 'padm_' + randomBytes(24).toString('base64url'))
    adminToken = s.value
    adminTokenGenerated = s.generated
  }
  const secretText = env.PLEXUS_SECRET_KEY ?? persistedSecret(dataDir, 'secret-key', () => randomBytes(32).toString('base64')).value
  const secretKey = Buffer.from(secretText, /^[0-9a-f]{64}$/i.test(secretText) ? 'hex' : 'base64')
  if (secretKey.length < 32) throw new Error('PLEXUS_SECRET_KEY must be 32 bytes (base64 or 64 hex characters)')

  const publicUrl = env.PLEXUS_PUBLIC_URL ? env.PLEXUS_PUBLIC_URL.replace(/\/+$/, '') : null
  if (publicUrl && !(URL.canParse(publicUrl) && /^https?:$/.test(new URL(publicUrl).protocol))) throw new Error(`PLEXUS_PUBLIC_URL must be an absolute http(s) URL; got ${publicUrl}`)

  return Object.freeze({
    port,
    host: env.HOST ?? '127.0.0.1',
    databaseUrl,
    dataDir,
    adminToken,
    adminTokenGenerated,
    secretKey,
    allowPrivateNetwork: truthy(env.PLEXUS_ALLOW_PRIVATE_NETWORK),
    publicUrl,
    bodyLimitBytes: Number(env.PLEXUS_BODY_LIMIT ?? 2 * 1024 * 1024),
    logLevel: env.LOG_LEVEL ?? 'info',
  })
}

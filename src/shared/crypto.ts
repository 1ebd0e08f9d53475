// Secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256) from PLEXUS_SECRET_KEY. A sealed
// value is `v1.<base64url(iv | tag | ciphertext)>`; the caller's associated data (the row's id and
// purpose) is authenticated but not stored, so a ciphertext copied to another row does not open.
// Also: HMAC signing for short tokens (OAuth2 state, paging cursors) with a separately derived key.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

const VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

/** A sealed value that does not open: wrong key, wrong row, or tampered with. */
export class SecretUnreadableError extends Error {
  constructor(message = 'a stored secret cannot be decrypted') {
    super(message)
    this.name = 'SecretUnreadableError'
  }
}

const derive = (secretKey: Buffer, info: string): Buffer => Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), info, 32))

export class SecretBox {
  readonly #key: Buffer
  readonly #signKey: Buffer

  constructor(secretKey: Buffer) {
    if (secretKey.length < 32) throw new Error('the secret key must be at least 32 bytes')
    this.#key = derive(secretKey, 'plexus/secrets-at-rest/v1')
    this.#signKey = derive(secretKey, 'plexus/signed-tokens/v1')
  }

  /** Encrypts `plaintext`, bound to `aad` (e.g. `account_connectors:<id>:auth`). */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    cipher.setAAD(Buffer.from(aad, 'utf8'))
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')}`
  }

  /** Decrypts a value made by `seal` with the same `aad`; throws SecretUnreadableError otherwise. */
  open(sealed: string, aad: string): string {
    const dot = sealed.indexOf('.')
    if (dot < 0 || sealed.slice(0, dot) !== VERSION) throw new SecretUnreadableError('a stored secret has an unknown format')
    const raw = Buffer.from(sealed.slice(dot + 1), 'base64url')
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretUnreadableError('a stored secret is truncated')
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES))
      decipher.setAAD(Buffer.from(aad, 'utf8'))
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      throw new SecretUnreadableError('a stored secret cannot be decrypted: PLEXUS_SECRET_KEY changed, or the value was moved or altered')
    }
  }

  sealJson(value: unknown, aad: string): string {
    return this.seal(JSON.stringify(value), aad)
  }

  openJson<T>(sealed: string, aad: string): T {
    return JSON.parse(this.open(sealed, aad)) as T
  }

  /** `<base64url(payload)>.<base64url(hmac)>`: readable, but tamper-evident. `purpose` separates uses. */
  sign(payload: object, purpose: string): string {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')
    return `${body}.${this.#mac(purpose, body).toString('base64url')}`
  }

  /** The payload of a token made by `sign` for the same purpose, or undefined when it was altered. */
  verify<T>(token: string, purpose: string): T | undefined {
    const dot = token.indexOf('.')
    if (dot <= 0) return undefined
    const body = token.slice(0, dot)
    const given = Buffer.from(token.slice(dot + 1), 'base64url')
    const expected = this.#mac(purpose, body)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T
    } catch {
      return undefined
    }
  }

  /** A keyed digest (e.g. a PKCE verifier derived from a state nonce, never stored). */
  derive(purpose: string, value: string): string {
    return this.#mac(purpose, value).toString('base64url')
  }

  #mac(purpose: string, value: string): Buffer {
    return createHmac('sha256', this.#signKey).update(purpose).update('\0').update(value).digest()
  }
}

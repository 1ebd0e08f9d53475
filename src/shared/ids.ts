// App-generated ids: a type prefix, then a time-ordered, random suffix (ULID-like, Crockford
// base32), so ids sort by creation time on both databases and never collide across nodes.
import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
let lastTime = 0
let lastRandom: Buffer = Buffer.alloc(10)
// Random bytes drawn 4 KB at a time: one call to the system's generator per 400 ids, not per id.
let pool = Buffer.alloc(0)
let poolAt = 0

function random10(): Buffer {
  if (poolAt + 10 > pool.length) {
    pool = randomBytes(4096)
    poolAt = 0
  }
  poolAt += 10
  return Buffer.from(pool.subarray(poolAt - 10, poolAt))
}

function encode(bytes: Buffer): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/** Monotonic within one process: ids made in the same millisecond still sort in order. */
export function newId(prefix: string, now = Date.now()): string {
  let random: Buffer
  if (now <= lastTime) {
    random = Buffer.from(lastRandom)
    for (let i = random.length - 1; i >= 0; i--) {
      if (random[i] < 255) {
        random[i]++
        break
      }
      random[i] = 0
    }
    now = lastTime
  } else {
    random = random10()
  }
  lastTime = now
  lastRandom = random
  const time = Buffer.alloc(6)
  time.writeUIntBE(now, 0, 6)
  return `${prefix}_${encode(Buffer.concat([time, random]))}`
}

// Kysely on SQLite (default, WAL, foreign keys on) or PostgreSQL, selected by PLEXUS_DATABASE_URL.
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import type SQLite from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import type { DB } from './tables.js'

export type Dialect = 'sqlite' | 'postgres'

export interface Database {
  readonly db: Kysely<DB>
  readonly dialect: Dialect
  /** Only this process writes to the database (SQLite): in-process read caches are safe. */
  readonly singleProcess: boolean
  /** PostgreSQL: the schema everything lives in (`public` unless configured). */
  readonly schema?: string
  close(): Promise<void>
}

// Counts come back as strings from pg; bigint columns as strings too. Parse int8 as number
// (our counts never pass 2^53).
pg.types.setTypeParser(20, (v) => Number(v))

/**
 * better-sqlite3 12 (node::ObjectWrap) aborts on Node >= 24.19 when a statement is garbage
 * collected outside a JavaScript context (`Assertion failed: (env) != nullptr` in
 * RemoveEnvironmentCleanupHook); 13 (Node-API) does not, but needs Node >= 22 and crashes on 20.
 * Both are installed (13 as the optional alias `better-sqlite3-13`): 13 on Node >= 22, else 12.
 */
const SQLiteDatabase: typeof SQLite = (() => {
  const require = createRequire(import.meta.url)
  if (Number(process.versions.node.split('.')[0]) >= 22) {
    try {
      return require('better-sqlite3-13') as typeof SQLite
    } catch {
      // not installed: fall back to 12
    }
  }
  return require('better-sqlite3') as typeof SQLite
})()

export interface OpenOptions {
  /** PostgreSQL only: run everything in this schema (tests use one schema per run). */
  schema?: string
  poolSize?: number
}

export function openDatabase(url: string, opts: OpenOptions = {}): Database {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    })
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) })
    return { db, dialect: 'postgres', singleProcess: false, schema: opts.schema ?? 'public', close: () => db.destroy() }
  }
  if (!url.startsWith('sqlite:')) throw new Error(`PLEXUS_DATABASE_URL must start with sqlite: or postgres://; got ${url}`)
  const file = url.slice('sqlite:'.length)
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const sqlite = new SQLiteDatabase(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) })
  return { db, dialect: 'sqlite', singleProcess: true, close: () => db.destroy() }
}

/**
 * Kysely prepares every query anew; preparing costs more than running a point query on SQLite.
 * Reuse prepared statements by SQL text (bounded). Safe: Kysely runs one query at a time on its
 * single SQLite connection.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>()
  const prepare = sqlite.prepare.bind(sqlite)
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') return Reflect.get(target, prop, receiver)
      return (source: string) => {
        let stmt = cache.get(source)
        if (!stmt) {
          stmt = prepare(source)
          if (cache.size >= max) cache.delete(cache.keys().next().value as string)
          cache.set(source, stmt)
        }
        return stmt
      }
    },
  })
}

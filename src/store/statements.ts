// Hot statements compiled once per shape and run with new values (see Statements).
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely'
import type { DB } from './tables.js'

/**
 * Hot statements compiled once per shape and run with new values: Kysely's builder and compiler
 * cost more than a point query on SQLite. A shape whose values do not map one to one onto the
 * compiled parameters is simply not cached.
 */
export class Statements {
  readonly #compiled = new Map<string, { query: CompiledQuery; slots: number[] } | null>()

  execute<R>(db: Kysely<DB>, shape: string, values: unknown[], build: (db: Kysely<DB>, values: unknown[]) => Compilable<R>): Promise<QueryResult<R>> {
    let entry = this.#compiled.get(shape)
    if (entry === undefined) {
      const marks = values.map((_, i) => `\u0000plexus:${i}\u0000`)
      const query = build(db, marks).compile()
      const slots = query.parameters.map((p) => marks.indexOf(p as string))
      entry = slots.length === values.length && slots.every((i, n) => i >= 0 && slots.indexOf(i) === n) ? { query, slots } : null
      if (this.#compiled.size < 64) this.#compiled.set(shape, entry)
    }
    if (!entry) return db.executeQuery(build(db, values))
    const { query, slots } = entry
    return db.executeQuery({ ...query, parameters: slots.map((i) => values[i]) } as CompiledQuery<R>)
  }
}

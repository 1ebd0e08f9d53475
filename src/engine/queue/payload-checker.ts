// Optional TypeBox checks of job payloads at enqueue, compiled once per task. The compiler is
// loaded only when schemas are given (it is slow to import).
import type { TSchema } from 'typebox'
import type { Validator } from 'typebox/compile'

export class PayloadChecker {
  readonly #schemas: Record<string, TSchema | undefined>
  readonly #compiled = new Map<string, Validator>()
  #compile: Promise<(schema: TSchema) => Validator> | undefined

  constructor(schemas: Record<string, TSchema | undefined> = {}) {
    this.#schemas = schemas
  }

  /** Rejects with a TypeError naming the first problem when `payload` does not match the task's schema. */
  async check(task: string, payload: unknown): Promise<void> {
    const schema = this.#schemas[task]
    if (!schema) return
    let v = this.#compiled.get(task)
    if (!v) {
      this.#compile ??= import('typebox/compile').then((m) => (s: TSchema) => m.Compile(s) as unknown as Validator)
      v = (await this.#compile)(schema)
      this.#compiled.set(task, v)
    }
    if (v.Check(payload)) return
    for (const e of v.Errors(payload) as Iterable<{ instancePath?: string; message?: string }>) {
      throw new TypeError(`invalid payload for task "${task}": ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    }
    throw new TypeError(`invalid payload for task "${task}"`)
  }
}

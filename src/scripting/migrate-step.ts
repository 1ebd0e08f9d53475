// `migrate_step` scripts (issue 8 §5, docs/upgrades.md): a release's script that rewrites a step's
// method id, mappings and parameters from an older release's shape to its own, run in the sandbox
// during an upgrade. The script declares `function migrate_step(step, context)`; it gets plain JSON
// copies and returns the new step (or nothing: keep it as it is). Only JSON goes in and out, through
// the runner's expression entry point: no HTTP, no storage, no secrets, the runner's time limits.
import type { ScriptRunner } from './script-runner.js'

/** What the script receives as `step`. */
export interface MigrateStepInput {
  methodId: string
  fields: Record<string, unknown>
  parameters: Record<string, unknown>
  userConfigurable: string[]
  /** cycle steps only */
  userValues?: Record<string, unknown>
}

/** What the script receives as `context`. */
export interface MigrateStepContext {
  stepKey: string
  kind: 'template' | 'cycle'
  from: { releaseId: string; version: string | null; method: unknown }
  to: { releaseId: string; version: string | null; method: unknown }
}

export type MigrateStepOutcome = { ok: true; value: unknown } | { ok: false; error: string }

// Unlikely to appear as a `[Name]` merge-field token in a script, so the inline-expression rewrite
// never touches the script's own code.
const INPUT = '__plexus_migrate_step_input'

/** The expression run in the sandbox: the script in its own function scope, then one call. */
export function migrateStepExpression(source: string): string {
  return (
    '(function () {\n' +
    source +
    '\n;if (typeof migrate_step !== "function") throw new Error("the script does not define function migrate_step(step, context)");\n' +
    `var __in = JSON.parse(fields[${JSON.stringify(INPUT)}]);\n` +
    'var __out = migrate_step(__in.step, __in.context);\n' +
    'return __out === undefined ? null : JSON.stringify(__out);\n' +
    '})()'
  )
}

/**
 * Runs a release's `migrate_step` script for one step. The input travels as one JSON string (the
 * script gets mutable copies); the result comes back as JSON text, `null` when the script returned
 * nothing. Never throws for a script's own failure: that is `{ok: false, error}`.
 */
export async function runMigrateStep(
  runner: Pick<ScriptRunner, 'evalExpression'>,
  source: string,
  input: { step: MigrateStepInput; context: MigrateStepContext },
  opts: { isolationKey: string },
): Promise<MigrateStepOutcome> {
  let r: Awaited<ReturnType<ScriptRunner['evalExpression']>>
  try {
    r = await runner.evalExpression(migrateStepExpression(source), { [INPUT]: JSON.stringify(input) }, { isolationKey: opts.isolationKey })
  } catch (err) {
    return { ok: false, error: `migrate_step could not run: ${(err as Error).message}` }
  }
  if (!r.ok) {
    // the wrapper adds one line before the script; lines past the script's end are the wrapper's
    const line = r.error.line !== undefined ? r.error.line - 1 : 0
    const where = line >= 1 && line <= source.split('\n').length ? ` (line ${line})` : ''
    return { ok: false, error: `migrate_step failed: ${r.error.message}${where}` }
  }
  if (r.value === null) return { ok: true, value: null }
  if (typeof r.value !== 'string') return { ok: false, error: 'migrate_step returned something that is not JSON data' }
  try {
    return { ok: true, value: JSON.parse(r.value, (k, v: unknown) => (k === '__proto__' ? undefined : v)) }
  } catch {
    return { ok: false, error: 'migrate_step returned something that is not JSON data' }
  }
}

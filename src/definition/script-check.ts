// Push-time script validation (SPEC §4, issue 4): every script of a release (the connector-level
// script, each method's script and the `migrations.migrate_step` upgrade script) must compile. The compiler is passed in (the sandbox's
// `checkScript`, which runs nothing), so definition/ stays free of the scripting engine.
import { at, type Problem } from './problems.js'

export interface ScriptCompileProblem {
  line: number
  column: number
  message: string
}

export type ScriptChecker = (source: string) => Promise<ScriptCompileProblem[]>

/** One problem per compile error, its path naming the script and its message the line and column. */
export async function checkReleaseScripts(definition: unknown, check: ScriptChecker): Promise<Problem[]> {
  const d = (definition ?? {}) as { script?: unknown; methods?: unknown; migrations?: { migrate_step?: unknown } }
  const scripts: Array<{ path: string; label: string; source: string }> = []
  if (typeof d.script === 'string' && d.script.trim() !== '') scripts.push({ path: '/definition/script', label: 'the connector script', source: d.script })
  if (Array.isArray(d.methods)) {
    d.methods.forEach((m: unknown, i) => {
      const method = (m ?? {}) as { id?: unknown; script?: unknown }
      if (typeof method.script === 'string' && method.script.trim() !== '') {
        scripts.push({ path: at('/definition', 'methods', i, 'script'), label: `the script of method ${typeof method.id === 'string' ? `"${method.id}"` : i}`, source: method.script })
      }
    })
  }
  const migrate = d.migrations?.migrate_step
  if (typeof migrate === 'string' && migrate.trim() !== '') scripts.push({ path: '/definition/migrations/migrate_step', label: 'the migrate_step script', source: migrate })
  const problems: Problem[] = []
  for (const s of scripts) {
    for (const p of await check(s.source)) {
      problems.push({ path: s.path, message: `${s.label} does not compile: line ${p.line}, column ${p.column}: ${p.message}` })
    }
  }
  return problems
}

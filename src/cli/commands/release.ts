// release list/create/show/edit/delete/push/diff/lint/export/test. `<rid>` may be `live` wherever
// the API accepts it (show, diff, lint, export, create --from). release impact/upgrade/usage/sunset
// are in upgrade.ts.
import { writeFileSync } from 'node:fs'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { stringify as toYaml } from 'yaml'
import { type Context, parseCount } from '../context.js'
import { path } from '../http.js'
import { type Change, formatChange, formatProblem, type Output, type Problem } from '../output.js'

interface Release {
  id: string
  connectorId: string
  state: 'draft' | 'live' | 'deprecated'
  version: string | null
  settings: { status?: string; comments?: string }
  definition?: { baseUrl?: string; methods?: { id?: string; name?: string; http?: { method?: string; path?: string } }[] }
  hasIcon: boolean
  createdAt: string
  pushedAt: string | null
  deprecatedAt: string | null
  sunsetAt?: string | null
  sunsetWarning?: string | null
  usage?: { accounts: number; accountConnectors: number; cycles: number; cycleSteps: number; templates: number; templateSteps: number }
  importReport?: { mapped: number; skipped: { path: string; reason: string }[]; warnings: string[] }
}

interface Diff {
  base: { id: string; version: string | null }
  head: { id: string; version: string | null }
  breaking: boolean
  suggestedKind?: string
  changes: Change[]
}

interface Lint {
  errors: Problem[]
  warnings: Problem[]
}

const YAML = 'application/yaml'

/** `k=v` options, repeatable, collected into an object. */
const collectPair = (value: string, prev: Record<string, string> = {}): Record<string, string> => {
  const at = value.indexOf('=')
  if (at < 1) throw new InvalidArgumentError(`expected key=value, got "${value}"`)
  return { ...prev, [value.slice(0, at)]: value.slice(at + 1) }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function showRelease(out: Output, r: Release): void {
  out.fields([
    ['ID', r.id],
    ['Connector', r.connectorId],
    ['State', r.state],
    ['Version', r.version],
    ['Status', r.settings.status],
    ['Comments', r.settings.comments],
    ['Base URL', r.definition?.baseUrl],
    ['Icon', r.hasIcon ? 'own icon' : 'connector icon'],
    ['Created', r.createdAt],
    ['Pushed', r.pushedAt],
    ['Deprecated', r.deprecatedAt],
    ['Sunset', r.sunsetAt],
    ['Warning', r.sunsetWarning],
  ])
  const methods = r.definition?.methods ?? []
  out.print()
  out.print(`Methods (${methods.length}):`)
  out.table(['ID', 'NAME', 'HTTP'], methods.map((m) => [m.id, m.name, `${m.http?.method ?? ''} ${m.http?.path ?? ''}`.trim()]))
}

function showImportReport(out: Output, report: NonNullable<Release['importReport']>): void {
  out.print(`Imported ${plural(report.mapped, 'method')} from the OpenAPI document; skipped ${report.skipped.length}`)
  for (const s of report.skipped) out.print(`  skipped ${s.path}: ${s.reason}`)
  for (const w of report.warnings) out.print(`  warning ${w}`)
}

export function registerReleaseCommands(program: Command, ctx: (cmd: Command) => Context): void {
  const release = program.command('release').description('Releases of a connector: drafts, push live, diff, lint, export, test')

  release
    .command('list <cid>')
    .description('Every release of a connector, with sunset dates (warnings on stderr)')
    .option('--usage', 'add who is still on each release: accounts, cycles, templates')
    .action(async (cid: string, opts: { usage?: boolean }, cmd: Command) => {
      const { api, out, io } = ctx(cmd)
      const res = await api().json<{ items: Release[] }>('GET', path`/v1/connectors/${cid}/releases`, { query: { usage: opts.usage ? 'true' : undefined } })
      out.result(res, () => {
        const usageHeaders = opts.usage ? ['ACCOUNTS', 'CYCLES', 'TEMPLATES'] : []
        const usageCells = (r: Release) => (opts.usage ? [r.usage?.accounts, r.usage?.cycles, r.usage?.templates] : [])
        out.table(['ID', 'STATE', 'VERSION', 'STATUS', 'CREATED', 'PUSHED', ...usageHeaders, 'SUNSET'], res.items.map((r) => [r.id, r.state, r.version, r.settings.status, r.createdAt, r.pushedAt, ...usageCells(r), r.sunsetAt]))
        for (const r of res.items) if (r.sunsetWarning) io.stderr.write(`warning: ${r.sunsetWarning}\n`)
      })
    })

  release
    .command('create <cid>')
    .description('Create the draft: empty, from a document file, a copy of a release, or an OpenAPI import')
    .addOption(new Option('--file <file>', 'a YAML/JSON document {settings, definition}').conflicts(['from', 'openapi']))
    .addOption(new Option('--from <rid>', 'copy `live` or another release').conflicts('openapi'))
    .option('--openapi <file>', 'import an OpenAPI 3.x / Swagger 2.0 document (YAML or JSON)')
    .action(async (cid: string, opts: { file?: string; from?: string; openapi?: string }, cmd: Command) => {
      const { api, out, readFile } = ctx(cmd)
      const route = path`/v1/connectors/${cid}/releases`
      const r = opts.file
        ? await api().json<Release>('POST', route, { body: readFile(opts.file), contentType: YAML })
        : await api().json<Release>('POST', route, { json: opts.openapi ? { openapi: readFile(opts.openapi).toString('utf8') } : opts.from ? { from: opts.from } : {} })
      out.result(r, () => {
        out.print(`Created draft ${r.id} of connector ${r.connectorId}`)
        if (r.importReport) showImportReport(out, r.importReport)
      })
    })

  release
    .command('show <cid> <rid>')
    .description('Show a release and its methods')
    .action(async (cid: string, rid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const r = await api().json<Release>('GET', path`/v1/connectors/${cid}/releases/${rid}`)
      out.result(r, () => showRelease(out, r))
    })

  release
    .command('edit <cid> <rid>')
    .description('Replace the settings and/or definition of the draft from a document file')
    .requiredOption('--file <file>', 'a YAML/JSON document {settings, definition}')
    .action(async (cid: string, rid: string, opts: { file: string }, cmd: Command) => {
      const { api, out, readFile } = ctx(cmd)
      const r = await api().json<Release>('PUT', path`/v1/connectors/${cid}/releases/${rid}`, { body: readFile(opts.file), contentType: YAML })
      out.result(r, () => out.print(`Updated draft ${r.id} (${plural(r.definition?.methods?.length ?? 0, 'method')})`))
    })

  release
    .command('delete <cid> <rid>')
    .description('Delete the draft')
    .action(async (cid: string, rid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      await api().send('DELETE', path`/v1/connectors/${cid}/releases/${rid}`)
      out.result({ id: rid, deleted: true }, () => out.print(`Deleted draft ${rid}`))
    })

  release
    .command('push <cid> <rid>')
    .description('Push the draft live as a major or minor release')
    .addOption(new Option('--major', 'a new major version (M+1).0').conflicts('minor'))
    .option('--minor', 'a new minor version M.(m+1): existing methods unchanged')
    .option('--force', 'push a minor release even though its diff is breaking')
    .action(async (cid: string, rid: string, opts: { major?: boolean; minor?: boolean; force?: boolean }, cmd: Command) => {
      const { api, out, usage } = ctx(cmd)
      if (!opts.major && !opts.minor) usage('give --major or --minor')
      const r = await api().json<Release>('POST', path`/v1/connectors/${cid}/releases/${rid}/push`, { json: { kind: opts.major ? 'major' : 'minor', ...(opts.force ? { force: true } : {}) } })
      out.result(r, () => out.print(`Pushed release ${r.id} live as ${r.version}`))
    })

  release
    .command('diff <cid> <rid>')
    .description('Changes of a release against the live release (or another), each breaking or additive')
    .option('--against <rid>', '`live` or a release id', 'live')
    .action(async (cid: string, rid: string, opts: { against: string }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const d = await api().json<Diff>('GET', path`/v1/connectors/${cid}/releases/${rid}/diff`, { query: { against: opts.against } })
      out.result(d, () => {
        const label = (r: Diff['base']) => `${r.id} (${r.version ?? 'draft'})`
        const verdict = !d.changes.length ? 'no changes' : `${plural(d.changes.length, 'change')}, ${d.breaking ? 'breaking' : 'additive'}${d.suggestedKind === 'major' || d.suggestedKind === 'minor' ? `: push as ${d.suggestedKind}` : ''}`
        out.print(`${label(d.head)} against ${label(d.base)}: ${verdict}`)
        for (const c of d.changes) out.print(`  ${formatChange(c)}`)
      })
    })

  release
    .command('lint <cid> <rid>')
    .description('Errors that block a push, and warnings against the recommended standards (exit 1 on errors)')
    .action(async (cid: string, rid: string, _opts, cmd: Command) => {
      const { api, out, exitCode } = ctx(cmd)
      const l = await api().json<Lint>('GET', path`/v1/connectors/${cid}/releases/${rid}/lint`)
      out.result(l, () => {
        out.print(`${plural(l.errors.length, 'error')}, ${plural(l.warnings.length, 'warning')}`)
        const line = (kind: string, p: Problem) => out.print(`${kind}  ${formatProblem(p)}${p.code ? `  [${p.code}]` : ''}`)
        for (const e of l.errors) line('error  ', e)
        for (const w of l.warnings) line('warning', w)
      })
      if (l.errors.length) exitCode(1)
    })

  release
    .command('export <cid> <rid>')
    .description('The release as a document {connector, release, settings, definition} (input of --file)')
    .addOption(new Option('--format <format>', 'yaml or json (default: yaml; json with --json)').choices(['yaml', 'json']))
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (cid: string, rid: string, opts: { format?: 'yaml' | 'json'; out?: string }, cmd: Command) => {
      const { api, out, io } = ctx(cmd)
      const format = opts.format ?? (out.json ? 'json' : 'yaml')
      const route = path`/v1/connectors/${cid}/releases/${rid}/export`
      const text =
        format === 'yaml'
          ? ((await api().send('GET', route, { query: { format } })) ?? Buffer.alloc(0)).toString('utf8')
          : JSON.stringify(await api().json('GET', route), null, 2) + '\n'
      if (!opts.out) return void io.stdout.write(text)
      writeFileSync(opts.out, text)
      out.result({ id: rid, format, out: opts.out }, () => out.print(`Wrote ${rid} to ${opts.out} (${format})`))
    })

  release
    .command('test <cid> <rid> <mid>')
    .description('Call one method of a release against the real API with the given auth and inputs')
    .option('--auth <key=value>', 'an authentication value (repeatable)', collectPair)
    .option('--param <key=value>', 'a parameter value (repeatable)', collectPair)
    .option('--field <key=value>', 'a request field value (repeatable)', collectPair)
    .option('--max-pages <n>', 'stop paging after this many pages', parseCount)
    .action(async (cid: string, rid: string, mid: string, opts: { auth?: Record<string, string>; param?: Record<string, string>; field?: Record<string, string>; maxPages?: number }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const body = { auth: opts.auth ?? {}, parameters: opts.param ?? {}, fields: opts.field ?? {}, ...(opts.maxPages !== undefined ? { maxPages: opts.maxPages } : {}) }
      const res = await api().json('POST', path`/v1/connectors/${cid}/releases/${rid}/methods/${mid}/test`, { json: body })
      out.result(res, () => out.print(toYaml(res).trimEnd()))
    })
}

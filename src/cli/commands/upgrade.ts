// Release upgrades and deprecation (SPEC §7, issue 8 §6–7): `release impact|upgrade|usage|sunset`,
// `template upgrade`, `cycle upgrade` and `connector upgrade`, over the HTTP API.
//
// Bulk upgrades (`connector upgrade`, `release upgrade`) run client-side: the impact endpoint lists
// the templates and cycles still behind the live release, then one upgrade request per template or
// cycle, with a progress bar on stderr (plain `n/N` lines when stderr is not a terminal, nothing with
// --json). `--single-request` sends the server's bulk upgrade instead (one request, no progress).
import type { Command } from 'commander'
import type { Context } from '../context.js'
import { ApiError, path } from '../http.js'
import { formatProblem, type Output, type Problem } from '../output.js'
import { Progress } from '../progress.js'
// The API's report shapes (types only: the CLI talks to the server over HTTP).
import type { CycleUpgradeReport as CycleReport, StepReport, TemplateUpgradeReport as TemplateReport } from '../../services/upgrades.js'

interface Impact {
  release: { id: string; version: string | null; state: string }
  summary: { templates: number; breakingTemplates: number; cycles: number; breakingCycles: number; accounts: number; byRelease: Array<{ releaseId: string; version: string | null; templateSteps: number; cycleSteps: number }> }
  templates: Array<{ id: string; name: string; breaking: boolean; steps: StepReport[] }>
  cycles: Array<{ id: string; accountId: string; name: string; status: string; breaking: boolean; steps: StepReport[] }>
}

interface BulkResult {
  connectorId: string
  /** `release upgrade <cid> <rid>`: only what had a step on this release */
  fromReleaseId?: string
  to: { releaseId: string; version: string | null }
  dryRun: boolean
  summary: { templates: { upgraded: number; blocked: number }; cycles: { upgraded: number; paused: number; blocked: number } }
  templates: TemplateReport[]
  cycles: CycleReport[]
  /** requests that failed for another reason than a blocked upgrade (client-side bulk only) */
  failed?: Array<{ kind: 'template' | 'cycle'; id: string; code: string; message: string }>
}

interface SunsetRelease {
  id: string
  state: string
  version: string | null
  sunsetAt: string | null
  sunsetWarning: string | null
}

interface Usage {
  release: { id: string; connectorId: string; state: string; version: string | null }
  sunset: { sunsetAt: string | null; daysLeft: number | null; passed: boolean; warning: string | null }
  summary: { accounts: number; accountConnectors: number; cycles: number; cycleSteps: number; templates: number; templateSteps: number }
  accounts: Array<{ accountId: string; name: string | null; externalId: string | null; accountConnectors: number; cycles: number; cycleSteps: number }>
  cycles: Array<{ id: string; accountId: string; name: string; status: string; steps: number }>
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
const ver = (r: { releaseId: string; version: string | null }) => r.version ?? `draft ${r.releaseId}`

/** Per step: `key  1.0 → 2.0  outcome`, then what is dropped and needed (and a failed migration). */
function showSteps(out: Output, steps: StepReport[], indent = '  '): void {
  for (const s of steps) {
    out.print(`${indent}${s.stepKey}  ${ver(s.from)} → ${ver(s.to)}  ${s.outcome}${s.kept.length ? `  (keeps ${s.kept.length})` : ''}`)
    for (const d of s.dropped) out.print(`${indent}  dropped ${d.path}: ${d.reason}`)
    for (const n of s.needed) out.print(`${indent}  needed  ${n.path}: ${n.reason}`)
    if (s.migration && !s.migration.ok) out.print(`${indent}  migrate_step failed: ${s.migration.error ?? ''}`)
  }
}

const templateVerdict = (r: TemplateReport) => (r.upgraded ? (r.dryRun ? 'would be upgraded' : 'upgraded') : r.dryRun ? 'would be blocked' : 'blocked')
const cycleVerdict = (r: CycleReport) =>
  r.upgraded ? `${r.dryRun ? 'would be upgraded' : 'upgraded'}${r.paused ? ` and paused: ${r.reason ?? ''}` : ''}` : `${r.dryRun ? 'would be blocked' : 'blocked'}${r.reason ? `: ${r.reason}` : ''}`

function showTemplateReport(out: Output, r: TemplateReport): void {
  out.print(`${r.dryRun ? 'Dry run: ' : ''}template ${r.templateId} "${r.name}" ${templateVerdict(r)}`)
  showSteps(out, r.steps)
  for (const p of r.problems) out.print(`  problem ${formatProblem(p)}`)
}

function showCycleReport(out: Output, r: CycleReport): void {
  out.print(`${r.dryRun ? 'Dry run: ' : ''}cycle ${r.cycleId} "${r.name}" (account ${r.accountId}) ${cycleVerdict(r)}`)
  showSteps(out, r.steps)
}

/** A 409 UPGRADE_BLOCKED carries the report: show it (as JSON with --json) on stdout, then let the error exit 1. */
async function reportOrBlocked<T>(out: Output, request: () => Promise<T>, show: (r: T) => void): Promise<T> {
  try {
    return await request()
  } catch (err) {
    if (err instanceof ApiError && err.code === 'UPGRADE_BLOCKED' && err.details && typeof err.details === 'object') {
      out.result(err.details, () => show(err.details as T))
      throw new ApiError(err.status, err.code, err.message)
    }
    throw err
  }
}

interface BulkOptions {
  dryRun?: boolean
  force?: boolean
  scope: 'all' | 'templates' | 'cycles'
  singleRequest?: boolean
}

/**
 * Upgrades every template and cycle behind the live release of the connector (or, with `fromRelease`,
 * those with a step pinned to that release), one request each, with progress on stderr.
 */
async function bulkUpgrade(c: Context, cid: string, opts: BulkOptions, fromRelease?: string): Promise<BulkResult> {
  const { api, out, io } = c
  const body = { ...(opts.dryRun ? { dryRun: true } : {}), ...(opts.force ? { force: true } : {}) }
  if (opts.singleRequest) return api().json<BulkResult>('POST', path`/v1/connectors/${cid}/upgrade`, { json: { ...body, scope: opts.scope } })

  const impact = await api().json<Impact>('GET', path`/v1/connectors/${cid}/releases/live/impact`)
  const behind = (steps: StepReport[]) => steps.some((s) => s.outcome !== 'unchanged' && (!fromRelease || s.from.releaseId === fromRelease))
  const templates = opts.scope === 'cycles' ? [] : impact.templates.filter((t) => behind(t.steps))
  const cycles = opts.scope === 'templates' ? [] : impact.cycles.filter((y) => behind(y.steps))
  const progress = new Progress(io.stderr, templates.length + cycles.length, !out.json)
  const result: BulkResult = {
    connectorId: cid,
    ...(fromRelease ? { fromReleaseId: fromRelease } : {}),
    to: { releaseId: impact.release.id, version: impact.release.version },
    dryRun: !!opts.dryRun,
    summary: { templates: { upgraded: 0, blocked: 0 }, cycles: { upgraded: 0, paused: 0, blocked: 0 } },
    templates: [],
    cycles: [],
    failed: [],
  }
  /** One request; a blocked upgrade (409 with the report) is a result, any other API error is recorded. */
  const one = async <T>(kind: 'template' | 'cycle', id: string, route: string): Promise<T | undefined> => {
    try {
      return await api().json<T>('POST', route, { json: body })
    } catch (err) {
      if (!(err instanceof ApiError)) throw err
      if (err.code === 'UPGRADE_BLOCKED' && err.details && typeof err.details === 'object') return err.details as T
      result.failed!.push({ kind, id, code: err.code, message: err.message })
      return undefined
    }
  }
  for (const t of templates) {
    const r = await one<TemplateReport>('template', t.id, path`/v1/templates/${t.id}/upgrade`)
    if (r) {
      result.templates.push(r)
      result.summary.templates[r.upgraded ? 'upgraded' : 'blocked']++
    }
    progress.tick(`template ${t.id} ${r ? templateVerdict(r) : 'failed'}`)
  }
  for (const y of cycles) {
    const r = await one<CycleReport>('cycle', y.id, path`/v1/accounts/${y.accountId}/cycles/${y.id}/upgrade`)
    if (r) {
      result.cycles.push(r)
      result.summary.cycles[r.upgraded ? 'upgraded' : 'blocked']++
      if (r.paused) result.summary.cycles.paused++
    }
    progress.tick(`cycle ${y.id} ${r ? (r.upgraded ? (r.dryRun ? 'would be upgraded' : 'upgraded') : r.dryRun ? 'would be blocked' : 'blocked') + (r.paused ? ' and paused' : '') : 'failed'}`)
  }
  return result
}

function showBulk(out: Output, r: BulkResult): void {
  const s = r.summary
  const would = r.dryRun ? 'would be ' : ''
  out.print(`${r.dryRun ? 'Dry run: ' : ''}upgrade of connector ${r.connectorId}${r.fromReleaseId ? ` (what is on ${r.fromReleaseId})` : ''} to ${ver(r.to)}`)
  out.print(`  templates: ${s.templates.upgraded} ${would}upgraded, ${s.templates.blocked} blocked`)
  out.print(`  cycles:    ${s.cycles.upgraded} ${would}upgraded (${s.cycles.paused} ${would}paused), ${s.cycles.blocked} blocked`)
  for (const t of r.templates) if (!t.upgraded || t.steps.some((x) => x.dropped.length || x.needed.length)) showTemplateReport(out, t)
  for (const y of r.cycles) if (!y.upgraded || y.paused || y.steps.some((x) => x.dropped.length || x.needed.length)) showCycleReport(out, y)
  for (const f of r.failed ?? []) out.print(`failed ${f.kind} ${f.id}: ${f.code}: ${f.message}`)
}

/** Exit 1 when an applied bulk upgrade left something behind (blocked or failed); a dry run exits 0. */
const bulkExit = (r: BulkResult) => (!r.dryRun && (r.summary.templates.blocked + r.summary.cycles.blocked > 0 || (r.failed?.length ?? 0) > 0) ? 1 : 0)

const find = (program: Command, name: string): Command => {
  const c = program.commands.find((x) => x.name() === name)
  if (!c) throw new Error(`the ${name} command must be registered before the upgrade commands`)
  return c
}

const bulkOptions = (cmd: Command) =>
  cmd
    .option('--dry-run', 'report what would change; change nothing')
    .option('--force', 'upgrade cycles that would be left unrunnable, and pause them with the reason')
    .option('--scope <scope>', 'all, templates or cycles', 'all')
    .option('--single-request', "one request to the server's bulk upgrade (only this connector's steps move), without progress")

export function registerUpgradeCommands(program: Command, ctx: (cmd: Command) => Context): void {
  const release = find(program, 'release')
  const template = find(program, 'template')
  const cycle = find(program, 'cycle')
  const connector = find(program, 'connector')

  release
    .command('impact <cid> <rid>')
    .description('Which templates, cycles and accounts use the connector, on which release, and what moving them to <rid> (a draft, `live` or any release) would drop or need')
    .option('--steps', 'every step, not only those that would break')
    .action(async (cid: string, rid: string, opts: { steps?: boolean }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const i = await api().json<Impact>('GET', path`/v1/connectors/${cid}/releases/${rid}/impact`)
      out.result(i, () => {
        const s = i.summary
        out.print(`Impact of ${i.release.id} (${i.release.version ?? 'draft'}, ${i.release.state}) on connector ${cid}`)
        out.print(`  ${plural(s.templates, 'template')} (${s.breakingTemplates} breaking), ${plural(s.cycles, 'cycle')} (${s.breakingCycles} breaking) in ${plural(s.accounts, 'account')}`)
        for (const b of s.byRelease) out.print(`  on ${b.version ?? b.releaseId}: ${plural(b.templateSteps, 'template step')}, ${plural(b.cycleSteps, 'cycle step')}`)
        out.print()
        const outcomes = (steps: StepReport[]) => [...new Set(steps.map((x) => x.outcome))].join(', ')
        out.table(
          ['KIND', 'ID', 'ACCOUNT', 'NAME', 'STEPS', 'OUTCOMES', 'BREAKING'],
          [
            ...i.templates.map((t) => ['template', t.id, null, t.name, t.steps.length, outcomes(t.steps), t.breaking ? 'yes' : 'no']),
            ...i.cycles.map((y) => ['cycle', y.id, y.accountId, y.name, y.steps.length, outcomes(y.steps), y.breaking ? 'yes' : 'no']),
          ],
        )
        const shown = (steps: StepReport[]) => steps.filter((x) => opts.steps || x.dropped.length || x.needed.length || x.outcome === 'methodRemoved' || x.outcome === 'migrationFailed')
        const detail = [...i.templates.map((t) => [`template ${t.id}`, shown(t.steps)] as const), ...i.cycles.map((y) => [`cycle ${y.id}`, shown(y.steps)] as const)].filter(([, steps]) => steps.length)
        if (detail.length) out.print()
        for (const [label, steps] of detail) {
          out.print(label)
          showSteps(out, steps)
        }
      })
    })

  bulkOptions(
    release
      .command('upgrade <cid> [rid]')
      .description('Upgrade the templates and cycles with a step on release <rid> (default: every one behind) to the live release, with progress'),
  ).action(async (cid: string, rid: string | undefined, opts: BulkOptions, cmd: Command) => {
    const c = ctx(cmd)
    if (!['all', 'templates', 'cycles'].includes(opts.scope)) c.usage('--scope must be all, templates or cycles')
    if (opts.singleRequest && rid && rid !== 'live') c.usage('--single-request upgrades everything on the connector; leave out <rid>')
    const r = await bulkUpgrade(c, cid, opts, rid === 'live' ? undefined : rid)
    c.out.result(r, () => showBulk(c.out, r))
    c.exitCode(bulkExit(r))
  })

  release
    .command('usage <cid> <rid>')
    .description("Who is still on a release: the partner's accounts (account connectors, cycles, steps) and templates pinned to it, and its sunset date")
    .action(async (cid: string, rid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const u = await api().json<Usage>('GET', path`/v1/connectors/${cid}/releases/${rid}/usage`)
      out.result(u, () => {
        const s = u.summary
        out.fields([
          ['Release', `${u.release.id} (${u.release.version ?? 'draft'}, ${u.release.state})`],
          ['Sunset', u.sunset.sunsetAt ? `${u.sunset.sunsetAt} (${u.sunset.passed ? 'passed: new installs are refused' : `${plural(u.sunset.daysLeft ?? 0, 'day')} left`})` : null],
          ['Warning', u.sunset.warning],
          ['Still on it', `${plural(s.accounts, 'account')}, ${plural(s.accountConnectors, 'account connector')}, ${plural(s.cycles, 'cycle')} (${plural(s.cycleSteps, 'step')}), ${plural(s.templates, 'template')} (${plural(s.templateSteps, 'step')})`],
        ])
        out.print()
        out.table(['ACCOUNT', 'NAME', 'EXTERNAL ID', 'ACCOUNT CONNECTORS', 'CYCLES', 'CYCLE STEPS'], u.accounts.map((a) => [a.accountId, a.name, a.externalId, a.accountConnectors, a.cycles, a.cycleSteps]))
        if (u.cycles.length) {
          out.print()
          out.table(['CYCLE', 'ACCOUNT', 'NAME', 'STATUS', 'STEPS'], u.cycles.map((y) => [y.id, y.accountId, y.name, y.status, y.steps]))
        }
      })
    })

  release
    .command('sunset <cid> <rid> [date]')
    .description('Give a deprecated release a sunset date (ISO 8601, in the future): after it new installs pinned to it are refused')
    .option('--clear', 'remove the sunset date')
    .action(async (cid: string, rid: string, date: string | undefined, opts: { clear?: boolean }, cmd: Command) => {
      const { api, out, usage } = ctx(cmd)
      if (!opts.clear && !date) usage('give the sunset date (e.g. 2027-01-31), or --clear')
      if (opts.clear && date) usage('give a date or --clear, not both')
      const r = await api().json<SunsetRelease>('PUT', path`/v1/connectors/${cid}/releases/${rid}/sunset`, { json: { sunsetAt: opts.clear ? null : date } })
      out.result(r, () => {
        out.print(r.sunsetAt ? `Release ${r.id} (${r.version}) sunsets on ${r.sunsetAt}` : `Release ${r.id} (${r.version}) has no sunset date`)
        if (r.sunsetWarning) out.print(`warning: ${r.sunsetWarning}`)
      })
    })

  template
    .command('upgrade <tid>')
    .description('Move the connector steps of a template (or one step) to the live release of their connectors')
    .option('--dry-run', 'report what would change; change nothing')
    .option('--step <key>', 'only this step (the template is still checked whole)')
    .action(async (tid: string, opts: { dryRun?: boolean; step?: string }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const route = opts.step ? path`/v1/templates/${tid}/steps/${opts.step}/upgrade` : path`/v1/templates/${tid}/upgrade`
      const show = (r: TemplateReport) => showTemplateReport(out, r)
      const r = await reportOrBlocked(out, () => api().json<TemplateReport>('POST', route, { json: opts.dryRun ? { dryRun: true } : {} }), show)
      out.result(r, () => show(r))
    })

  cycle
    .command('upgrade <aid> <yid>')
    .description('Move the connector steps of a cycle (or one step) to the live release of their connectors')
    .option('--dry-run', 'report what would change; change nothing')
    .option('--force', 'upgrade even when the cycle would be left unrunnable; it is then paused with the reason')
    .option('--step <key>', 'only this step')
    .action(async (aid: string, yid: string, opts: { dryRun?: boolean; force?: boolean; step?: string }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const route = opts.step ? path`/v1/accounts/${aid}/cycles/${yid}/steps/${opts.step}/upgrade` : path`/v1/accounts/${aid}/cycles/${yid}/upgrade`
      const body = { ...(opts.dryRun ? { dryRun: true } : {}), ...(opts.force ? { force: true } : {}) }
      const show = (r: CycleReport) => showCycleReport(out, r)
      const r = await reportOrBlocked(out, () => api().json<CycleReport>('POST', route, { json: body }), show)
      out.result(r, () => show(r))
    })

  bulkOptions(
    connector
      .command('upgrade <cid>')
      .description("Upgrade every template and cycle behind the connector's live release, one by one with progress"),
  ).action(async (cid: string, opts: BulkOptions, cmd: Command) => {
    const c = ctx(cmd)
    if (!['all', 'templates', 'cycles'].includes(opts.scope)) c.usage('--scope must be all, templates or cycles')
    const r = await bulkUpgrade(c, cid, opts)
    c.out.result(r, () => showBulk(c.out, r))
    c.exitCode(bulkExit(r))
  })
}

// template create/list/show/install/delete, and cycle list/show/prerequisites/activate/deactivate/
// run/transactions/transaction/incidents: integrations from a template file to the transactions
// they ran, over the HTTP API.
import { type Command, InvalidArgumentError, Option } from 'commander'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { type Context, parseCount } from '../context.js'
import { path } from '../http.js'
import type { Output } from '../output.js'

interface StepConnector {
  connectorId: string
  releaseId?: string
  methodId: string
}

interface TemplateStep {
  id: string
  key: string
  name?: string
  type: string
  connector?: StepConnector
  release?: { id: string; version: string | null }
  userConfigurable?: string[]
  onError?: { action: string; retries?: number }
}

interface Template {
  id: string
  name: string
  description: string | null
  settings: Record<string, unknown>
  createdAt: string
  updatedAt: string
  steps?: TemplateStep[]
}

interface Prerequisite {
  reasonCode: number
  reason: string
  message: string
  stepKey?: string
  objectType: string
  objectId: string
}

interface CycleStep extends TemplateStep {
  accountConnectorId: string | null
  userValues: Record<string, unknown>
  lastSuccessfulRunAt: string | null
}

interface Cycle {
  id: string
  accountId: string
  templateId: string | null
  name: string
  status: 'paused' | 'active' | 'error'
  statusReason: string | null
  intervalMinutes: number | null
  startAt: string | null
  runOnce: boolean
  activatedAt: string | null
  createdAt: string
  updatedAt: string
  steps?: CycleStep[]
  prerequisites?: Prerequisite[]
  missingConnectors?: Array<{ connectorId: string; stepKeys: string[] }>
  droppedTransactions?: number
}

interface Transaction {
  id: string
  status: string
  trigger: unknown
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

interface StepRun {
  id: string
  stepKey: string
  status: string
  attempt: number
  error: string | null
  startedAt: string
  durationMs: number
  log: unknown
}

interface TransactionDetail extends Transaction {
  outputs: Record<string, unknown>
  steps: StepRun[]
}

interface Incident {
  id: string
  level: string
  message: string
  detail: string | null
  transactionId: string | null
  stepKey: string | null
  at: string
}

type Page<T> = { items: T[]; nextCursor: string | null }

const TRANSACTION_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'stopped']

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** `--value step.Field=value`, repeatable: stepKey → { Field: value }. */
const collectValue = (value: string, prev: Record<string, Record<string, string>> = {}): Record<string, Record<string, string>> => {
  const eq = value.indexOf('=')
  const dot = value.indexOf('.')
  if (eq < 0 || dot < 1 || dot > eq - 2) throw new InvalidArgumentError(`expected step.Field=value, got "${value}"`)
  const step = value.slice(0, dot)
  return { ...prev, [step]: { ...(prev[step] ?? {}), [value.slice(dot + 1, eq)]: value.slice(eq + 1) } }
}

/** `--connector cid=acid`, repeatable. */
const collectPair = (value: string, prev: Record<string, string> = {}): Record<string, string> => {
  const at = value.indexOf('=')
  if (at < 1) throw new InvalidArgumentError(`expected key=value, got "${value}"`)
  return { ...prev, [value.slice(0, at)]: value.slice(at + 1) }
}

const parseInterval = (value: string): number => parseCount(value)

const method = (s: TemplateStep) => s.connector?.methodId

const schedule = (c: Cycle): string => {
  if (c.status !== 'active') return '-'
  if (c.runOnce) return `once${c.startAt ? ` at ${c.startAt}` : ''}`
  if (c.intervalMinutes) return `every ${c.intervalMinutes} min${c.startAt ? ` from ${c.startAt}` : ''}`
  return 'on webhook deliveries'
}

function showPrerequisites(out: Output, items: Prerequisite[]): void {
  if (!items.length) return out.print('Prerequisites: none (ready to activate)')
  out.print(`Prerequisites (${items.length}):`)
  out.table(['CODE', 'REASON', 'STEP', 'MESSAGE'], items.map((p) => [p.reasonCode, p.reason, p.stepKey, p.message]))
}

function showTemplate(out: Output, t: Template): void {
  out.fields([
    ['ID', t.id],
    ['Name', t.name],
    ['Description', t.description],
    ['Settings', Object.keys(t.settings ?? {}).length ? JSON.stringify(t.settings) : null],
    ['Created', t.createdAt],
    ['Updated', t.updatedAt],
  ])
  const steps = t.steps ?? []
  out.print()
  out.print(`Steps (${steps.length}):`)
  out.table(
    ['KEY', 'TYPE', 'CONNECTOR', 'METHOD', 'RELEASE', 'USER-CONFIGURABLE', 'ON ERROR'],
    steps.map((s) => [s.key, s.type, s.connector?.connectorId, method(s), s.release ? `${s.release.id}${s.release.version ? ` (${s.release.version})` : ''}` : s.connector?.releaseId, s.userConfigurable?.join(', '), s.onError?.action]),
  )
}

function showCycle(out: Output, c: Cycle): void {
  out.fields([
    ['ID', c.id],
    ['Name', c.name],
    ['Account', c.accountId],
    ['Template', c.templateId],
    ['Status', c.status],
    ['Reason', c.statusReason],
    ['Runs', schedule(c)],
    ['Activated', c.activatedAt],
    ['Created', c.createdAt],
    ['Updated', c.updatedAt],
  ])
  const steps = c.steps ?? []
  out.print()
  out.print(`Steps (${steps.length}):`)
  out.table(
    ['KEY', 'TYPE', 'CONNECTOR', 'METHOD', 'ACCOUNT CONNECTOR', 'VALUES', 'LAST SUCCESS'],
    steps.map((s) => [s.key, s.type, s.connector?.connectorId, method(s), s.accountConnectorId, Object.entries(s.userValues ?? {}).map(([k, v]) => `${k}=${v}`).join(', '), s.lastSuccessfulRunAt]),
  )
  if (c.prerequisites) {
    out.print()
    showPrerequisites(out, c.prerequisites)
  }
}

/** Every page of a `{items, nextCursor}` list, with extra query parameters. */
async function all<T>(ctx: Context, route: string, query: Record<string, string | undefined> = {}): Promise<T[]> {
  const items: T[] = []
  let after: string | undefined
  do {
    const page = await ctx.api().json<Page<T>>('GET', route, { query: { ...query, after } })
    items.push(...page.items)
    after = page.nextCursor ?? undefined
  } while (after)
  return items
}

export function registerCycleCommands(program: Command, ctx: (cmd: Command) => Context): void {
  // ---- templates -----------------------------------------------------------------------------
  const template = program.command('template').description('Templates: integrations (a trigger, then actions, decisions and delays) pinned to connector releases')

  template
    .command('create')
    .description('Create a template from a YAML/JSON file {name, description?, settings?, steps}; every problem is reported at once')
    .requiredOption('--file <file>', 'the template document (YAML or JSON)')
    .action(async (opts: { file: string }, cmd: Command) => {
      const c = ctx(cmd)
      const { api, out, readFile, usage } = c
      let doc: unknown
      try {
        doc = parseYaml(readFile(opts.file).toString('utf8'))
      } catch (err) {
        return usage(`cannot parse ${opts.file}: ${(err as Error).message}`)
      }
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return usage(`${opts.file} is not a template document (an object with name and steps)`)
      const t = await api().json<Template>('POST', '/v1/templates', { json: doc })
      out.result(t, () => out.print(`Created template ${t.id} "${t.name}" (${plural(t.steps?.length ?? 0, 'step')})`))
    })

  template
    .command('list')
    .description("The partner's templates")
    .option('--name <text>', 'only names containing this')
    .action(async (opts: { name?: string }, cmd: Command) => {
      const c = ctx(cmd)
      const items = await all<Template>(c, '/v1/templates', { name: opts.name })
      c.out.result({ items }, () => c.out.table(['ID', 'NAME', 'UPDATED'], items.map((t) => [t.id, t.name, t.updatedAt])))
    })

  template
    .command('show <tid>')
    .description('Show a template and its steps (with their pinned releases)')
    .action(async (tid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const t = await api().json<Template>('GET', path`/v1/templates/${tid}`)
      out.result(t, () => showTemplate(out, t))
    })

  template
    .command('install <tid>')
    .description("Install a template into an account: a paused cycle that reuses the account's connectors")
    .requiredOption('--account <aid>', 'the account')
    .option('--name <name>', 'a name for the cycle (default: the template name)')
    .option('--value <step.Field=value>', 'a user-configurable field or parameter value (repeatable)', collectValue)
    .option('--connector <cid=acid>', 'use this account connector for a connector (repeatable; default: the account\'s one)', collectPair)
    .action(async (tid: string, opts: { account: string; name?: string; value?: Record<string, Record<string, string>>; connector?: Record<string, string> }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const body = {
        accountId: opts.account,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.value ? { values: opts.value } : {}),
        ...(opts.connector ? { accountConnectors: opts.connector } : {}),
      }
      const cycle = await api().json<Cycle>('POST', path`/v1/templates/${tid}/install`, { json: body })
      out.result(cycle, () => {
        out.print(`Installed template ${tid} into account ${cycle.accountId} as cycle ${cycle.id} (${cycle.status})`)
        for (const m of cycle.missingConnectors ?? []) out.print(`install connector ${m.connectorId} into the account (used by ${m.stepKeys.join(', ')})`)
        showPrerequisites(out, cycle.prerequisites ?? [])
      })
    })

  template
    .command('delete <tid>')
    .description('Delete a template (its installed cycles stay)')
    .action(async (tid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      await api().send('DELETE', path`/v1/templates/${tid}`)
      out.result({ id: tid, deleted: true }, () => out.print(`Deleted template ${tid}`))
    })

  // ---- cycles --------------------------------------------------------------------------------
  const cycle = program.command('cycle').description('Cycles: templates installed in accounts; activation, runs, transactions and incidents')
  const one = (aid: string, yid: string) => path`/v1/accounts/${aid}/cycles/${yid}`

  cycle
    .command('list')
    .description("An account's cycles")
    .requiredOption('--account <aid>', 'the account')
    .addOption(new Option('--status <status>', 'only cycles in this status').choices(['paused', 'active', 'error']))
    .action(async (opts: { account: string; status?: string }, cmd: Command) => {
      const c = ctx(cmd)
      const items = await all<Cycle>(c, path`/v1/accounts/${opts.account}/cycles`, { status: opts.status })
      c.out.result({ items }, () => c.out.table(['ID', 'NAME', 'STATUS', 'RUNS', 'TEMPLATE', 'REASON'], items.map((y) => [y.id, y.name, y.status, schedule(y), y.templateId, y.statusReason])))
    })

  cycle
    .command('show <aid> <yid>')
    .description('Show a cycle: status, schedule, steps and prerequisites')
    .action(async (aid: string, yid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const y = await api().json<Cycle>('GET', one(aid, yid))
      out.result(y, () => showCycle(out, y))
    })

  cycle
    .command('prerequisites <aid> <yid>')
    .description('What keeps the cycle from being activated, with reason codes')
    .action(async (aid: string, yid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const res = await api().json<{ items: Prerequisite[] }>('GET', `${one(aid, yid)}/prerequisites`)
      out.result(res, () => showPrerequisites(out, res.items))
    })

  cycle
    .command('configure <aid> <yid>')
    .description("Set a paused cycle's user-configurable values and/or a step's account connector")
    .option('--value <step.Field=value>', 'a user-configurable field or parameter value (repeatable)', collectValue)
    .option('--account-connector <step=acid>', 'the account connector a step uses (repeatable)', collectPair)
    .action(async (aid: string, yid: string, opts: { value?: Record<string, Record<string, string>>; accountConnector?: Record<string, string> }, cmd: Command) => {
      const { api, out, usage } = ctx(cmd)
      const steps = [...new Set([...Object.keys(opts.value ?? {}), ...Object.keys(opts.accountConnector ?? {})])]
      if (!steps.length) usage('nothing to set: give --value step.Field=value or --account-connector step=acid')
      let y: Cycle | undefined
      for (const key of steps) {
        const body = { ...(opts.value?.[key] ? { values: opts.value[key] } : {}), ...(opts.accountConnector?.[key] ? { accountConnectorId: opts.accountConnector[key] } : {}) }
        y = await api().json<Cycle>('PATCH', path`/v1/accounts/${aid}/cycles/${yid}/steps/${key}`, { json: body })
      }
      const done = y as Cycle
      out.result(done, () => {
        out.print(`Updated ${plural(steps.length, 'step')} of cycle ${done.id}`)
        showPrerequisites(out, done.prerequisites ?? [])
      })
    })

  cycle
    .command('activate <aid> <yid>')
    .description('Activate: on an interval (minutes: 1, 5, 15, …), or run once; refused while prerequisites remain')
    .addOption(new Option('--interval <minutes>', 'run every this many minutes').argParser(parseInterval).conflicts('runOnce'))
    .option('--run-once', 'fire the trigger once, then pause')
    .option('--start-time <iso>', 'first run at this ISO 8601 date-time (default: now)')
    .action(async (aid: string, yid: string, opts: { interval?: number; runOnce?: boolean; startTime?: string }, cmd: Command) => {
      const { api, out, usage } = ctx(cmd)
      if (opts.startTime !== undefined && Number.isNaN(Date.parse(opts.startTime))) usage(`--start-time is not an ISO 8601 date-time: ${opts.startTime}`)
      // Neither option: the server decides (a webhook-triggered cycle needs none, others are a 400).
      const body = {
        ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
        ...(opts.runOnce ? { runOnce: true } : {}),
        ...(opts.startTime !== undefined ? { startTime: opts.startTime } : {}),
      }
      const y = await api().json<Cycle>('PUT', `${one(aid, yid)}/activate`, { json: body })
      out.result(y, () => out.print(`Activated cycle ${y.id}: runs ${schedule(y)}`))
    })

  cycle
    .command('deactivate <aid> <yid>')
    .description('Pause the cycle; its queued transactions are dropped unless --finish-queued')
    .option('--finish-queued', 'let the queued transactions finish')
    .action(async (aid: string, yid: string, opts: { finishQueued?: boolean }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const y = await api().json<Cycle>('PUT', `${one(aid, yid)}/deactivate`, { json: opts.finishQueued ? { finishQueued: true } : {} })
      out.result(y, () => out.print(`Deactivated cycle ${y.id} (${y.status}); ${opts.finishQueued ? 'queued transactions will finish' : `dropped ${plural(y.droppedTransactions ?? 0, 'queued transaction')}`}`))
    })

  cycle
    .command('run <aid> <yid>')
    .description('Fire the trigger now (also for a paused cycle)')
    .action(async (aid: string, yid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const res = await api().json<{ queued: boolean }>('POST', `${one(aid, yid)}/run`)
      out.result(res, () => out.print(`Queued a run of cycle ${yid}`))
    })

  cycle
    .command('transactions <aid> <yid>')
    .description("The cycle's transactions (one per trigger record), oldest first")
    .addOption(new Option('--status <status>', 'only transactions in this status').choices(TRANSACTION_STATUSES))
    .option('--limit <n>', 'at most this many (default: all)', parseCount)
    .action(async (aid: string, yid: string, opts: { status?: string; limit?: number }, cmd: Command) => {
      const c = ctx(cmd)
      const route = `${one(aid, yid)}/transactions`
      let items: Transaction[]
      if (opts.limit !== undefined) items = (await c.api().json<Page<Transaction>>('GET', route, { query: { status: opts.status, limit: String(Math.min(Math.max(opts.limit, 1), 500)) } })).items.slice(0, opts.limit)
      else items = await all<Transaction>(c, route, { status: opts.status, limit: '500' })
      c.out.result({ items }, () => {
        c.out.table(['ID', 'STATUS', 'CREATED', 'FINISHED', 'ERROR'], items.map((x) => [x.id, x.status, x.createdAt, x.finishedAt, x.error]))
        const counts = new Map<string, number>()
        for (const x of items) counts.set(x.status, (counts.get(x.status) ?? 0) + 1)
        if (items.length) c.out.print(`${plural(items.length, 'transaction')}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`)
      })
    })

  cycle
    .command('transaction <aid> <yid> <txid>')
    .description('One transaction: its trigger record, status and step runs (--logs: requests and responses)')
    .option('--logs', 'print each step run\'s log (request and response, secrets redacted)')
    .action(async (aid: string, yid: string, txid: string, opts: { logs?: boolean }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const x = await api().json<TransactionDetail>('GET', path`/v1/accounts/${aid}/cycles/${yid}/transactions/${txid}`)
      out.result(x, () => {
        out.fields([
          ['ID', x.id],
          ['Status', x.status],
          ['Error', x.error],
          ['Created', x.createdAt],
          ['Started', x.startedAt],
          ['Finished', x.finishedAt],
        ])
        out.print()
        out.print('Trigger record:')
        out.print(toYaml(x.trigger).trimEnd().replace(/^/gm, '  '))
        out.print()
        out.print(`Step runs (${x.steps.length}):`)
        out.table(['STEP', 'STATUS', 'ATTEMPT', 'DURATION', 'STARTED', 'ERROR'], x.steps.map((s) => [s.stepKey, s.status, s.attempt, `${s.durationMs} ms`, s.startedAt, s.error]))
        if (opts.logs) {
          for (const s of x.steps) {
            out.print()
            out.print(`Log of ${s.stepKey} (attempt ${s.attempt}):`)
            out.print(s.log === null || s.log === undefined ? '  (none)' : toYaml(s.log).trimEnd().replace(/^/gm, '  '))
          }
        }
      })
    })

  cycle
    .command('incidents <aid> <yid>')
    .description("The cycle's incidents: failed steps and triggers, stops")
    .option('--transaction <txid>', "only this transaction's incidents")
    .action(async (aid: string, yid: string, opts: { transaction?: string }, cmd: Command) => {
      const c = ctx(cmd)
      const items = await all<Incident>(c, `${one(aid, yid)}/incidents`, { transactionId: opts.transaction })
      c.out.result({ items }, () => c.out.table(['AT', 'LEVEL', 'STEP', 'TRANSACTION', 'MESSAGE', 'DETAIL'], items.map((i) => [i.at, i.level, i.stepKey, i.transactionId, i.message, i.detail])))
    })
}

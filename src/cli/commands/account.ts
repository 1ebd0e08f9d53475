// account create/list/show/update/delete, and account connector install/list/show/auth/test-auth/
// deauthenticate/oauth-start/call/lookup/delete. Auth values are write-only: what comes back are
// masked hints.
import { type Command, InvalidArgumentError } from 'commander'
import { stringify as toYaml } from 'yaml'
import { type Context, parseCount } from '../context.js'
import { path } from '../http.js'
import type { Output } from '../output.js'

interface Account {
  id: string
  name: string
  description: string | null
  externalId: string | null
  timezone: string
  parentId: string | null
  createdAt: string
  updatedAt: string
}

interface Step {
  method: string
  ok: boolean
  status?: number
  message?: string
  set?: string[]
}

interface AccountConnector {
  id: string
  accountId: string
  connectorId: string
  releaseId: string
  name: string | null
  authId: string | null
  authType: string
  authenticated: boolean
  authError: { stage: string; status?: number; message: string } | null
  auth: Record<string, string>
  oauth?: { hasAccessToken: boolean; hasRefreshToken: boolean; tokenExpiresAt: string | null }
  properties: Record<string, string>
  postInstall?: { testAuth?: Step; propertyLookup?: Step; warnings?: string[] }
}

interface CallResult {
  ok: boolean
  records: Record<string, unknown>[]
  pages: number
  nextCursor: string | null
  warnings: { code: string; message: string }[]
  error?: { kind: string; status?: number; message: string }
}

/** `k=v` options, repeatable, collected into an object. */
const collectPair = (value: string, prev: Record<string, string> = {}): Record<string, string> => {
  const at = value.indexOf('=')
  if (at < 1) throw new InvalidArgumentError(`expected key=value, got "${value}"`)
  return { ...prev, [value.slice(0, at)]: value.slice(at + 1) }
}

const pairs = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(', ')

const showAccount = (out: Output, a: Account) =>
  out.fields([
    ['ID', a.id],
    ['Name', a.name],
    ['External ID', a.externalId],
    ['Time zone', a.timezone],
    ['Parent', a.parentId],
    ['Description', a.description],
    ['Created', a.createdAt],
    ['Updated', a.updatedAt],
  ])

const stepLine = (what: string, s: Step) =>
  `${what} ${s.method}: ${s.ok ? 'ok' : 'FAILED'}${s.status !== undefined ? ` (HTTP ${s.status})` : ''}${s.message ? ` — ${s.message}` : ''}${s.set?.length ? `; set ${s.set.join(', ')}` : ''}`

function showAccountConnector(out: Output, ac: AccountConnector): void {
  const state = ac.authenticated
    ? 'yes'
    : ac.authError
      ? `no — ${ac.authError.stage}${ac.authError.status !== undefined ? ` HTTP ${ac.authError.status}` : ''}: ${ac.authError.message}`
      : ac.oauth && !ac.oauth.hasAccessToken
        ? 'no — authorize with `plexus account connector oauth-start`'
        : 'no'
  out.fields([
    ['ID', ac.id],
    ['Account', ac.accountId],
    ['Connector', ac.connectorId],
    ['Release', ac.releaseId],
    ['Name', ac.name],
    ['Authentication', ac.authId ? `${ac.authId} (${ac.authType})` : ac.authType],
    ['Authenticated', state],
    ['Auth values', pairs(ac.auth)],
    ...(ac.oauth ? ([['Token expires', ac.oauth.tokenExpiresAt]] as [string, string | null][]) : []),
    ['Properties', pairs(ac.properties)],
  ])
  const p = ac.postInstall
  if (p?.testAuth) out.print(stepLine('Test auth', p.testAuth))
  if (p?.propertyLookup) out.print(stepLine('Property lookup', p.propertyLookup))
  for (const w of p?.warnings ?? []) out.print(`warning: ${w}`)
}

interface AccountOptions {
  name?: string
  description?: string
  externalId?: string
  timezone?: string
  parent?: string
}

/** An empty value clears description, external id and parent. */
const accountBody = (o: AccountOptions) => ({
  ...(o.name !== undefined ? { name: o.name } : {}),
  ...(o.description !== undefined ? { description: o.description || null } : {}),
  ...(o.externalId !== undefined ? { externalId: o.externalId || null } : {}),
  ...(o.timezone !== undefined ? { timezone: o.timezone } : {}),
  ...(o.parent !== undefined ? { parentId: o.parent || null } : {}),
})

export function registerAccountCommands(program: Command, ctx: (cmd: Command) => Context): void {
  const account = program.command('account').description("Accounts (the partner's customers) and the connectors installed in them")

  const withAccountOptions = (c: Command) =>
    c
      .option('--description <text>', 'description')
      .option('--external-id <id>', "the partner's own id for the customer (unique)")
      .option('--timezone <tz>', 'IANA time zone, e.g. Europe/London (default UTC)')
      .option('--parent <aid>', 'parent account: makes this a sub-account')

  withAccountOptions(account.command('create').description('Create an account').requiredOption('--name <name>', 'account name')).action(async (opts: AccountOptions, cmd: Command) => {
    const { api, out } = ctx(cmd)
    const a = await api().json<Account>('POST', '/v1/accounts', { json: accountBody(opts) })
    out.result(a, () => out.print(`Created account ${a.id} "${a.name}"`))
  })

  account
    .command('list')
    .description("The partner's accounts")
    .option('--name <text>', 'only names containing this')
    .option('--external-id <id>', 'only the account with this external id')
    .action(async (opts: { name?: string; externalId?: string }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const items: Account[] = []
      let after: string | undefined
      do {
        const page = await api().json<{ items: Account[]; nextCursor: string | null }>('GET', '/v1/accounts', { query: { after, name: opts.name, externalId: opts.externalId } })
        items.push(...page.items)
        after = page.nextCursor ?? undefined
      } while (after)
      out.result({ items }, () => out.table(['ID', 'NAME', 'EXTERNAL ID', 'TIME ZONE', 'PARENT'], items.map((a) => [a.id, a.name, a.externalId, a.timezone, a.parentId])))
    })

  account
    .command('show <aid>')
    .description('Show one account')
    .action(async (aid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const a = await api().json<Account>('GET', path`/v1/accounts/${aid}`)
      out.result(a, () => showAccount(out, a))
    })

  withAccountOptions(account.command('update <aid>').description('Change an account (an empty value clears description, external id, parent)').option('--name <name>', 'account name')).action(
    async (aid: string, opts: AccountOptions, cmd: Command) => {
      const { api, out, usage } = ctx(cmd)
      const body = accountBody(opts)
      if (!Object.keys(body).length) usage('nothing to update: give --name, --description, --external-id, --timezone or --parent')
      const a = await api().json<Account>('PATCH', path`/v1/accounts/${aid}`, { json: body })
      out.result(a, () => out.print(`Updated account ${a.id} "${a.name}"`))
    },
  )

  account
    .command('delete <aid>')
    .description('Delete an account and its connectors')
    .action(async (aid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      await api().send('DELETE', path`/v1/accounts/${aid}`)
      out.result({ id: aid, deleted: true }, () => out.print(`Deleted account ${aid}`))
    })

  const connector = account.command('connector').description('Connectors installed in an account: install, authenticate, call')
  const base = (aid: string) => path`/v1/accounts/${aid}/connectors`
  const one = (aid: string, acid: string) => path`/v1/accounts/${aid}/connectors/${acid}`

  connector
    .command('install <aid> <cid>')
    .description("Install a connector (its live release) into an account; runs test-auth and the property lookup")
    .option('--auth-id <id>', 'which authentication of the release (default: its default one)')
    .option('--auth <key=value>', 'an auth value, e.g. ApiKey=… (repeatable)', collectPair)
    .option('--property <key=value>', 'an account property value (repeatable)', collectPair)
    .option('--name <name>', 'a name for this installation')
    .action(async (aid: string, cid: string, opts: { authId?: string; auth?: Record<string, string>; property?: Record<string, string>; name?: string }, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const body = {
        connectorId: cid,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.authId ? { authId: opts.authId } : {}),
        ...(opts.auth ? { auth: opts.auth } : {}),
        ...(opts.property ? { properties: opts.property } : {}),
      }
      const ac = await api().json<AccountConnector>('POST', base(aid), { json: body })
      out.result(ac, () => {
        out.print(`Installed connector ${cid} into account ${aid} as ${ac.id}`)
        showAccountConnector(out, ac)
      })
    })

  connector
    .command('list <aid>')
    .description('The connectors installed in an account')
    .action(async (aid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const items = await api().all<AccountConnector>(base(aid))
      out.result({ items }, () => out.table(['ID', 'CONNECTOR', 'RELEASE', 'AUTH', 'AUTHENTICATED'], items.map((c) => [c.id, c.connectorId, c.releaseId, c.authType, c.authenticated ? 'yes' : 'no'])))
    })

  connector
    .command('show <aid> <acid>')
    .description('Show an installed connector (auth values as masked hints)')
    .action(async (aid: string, acid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const ac = await api().json<AccountConnector>('GET', one(aid, acid))
      out.result(ac, () => showAccountConnector(out, ac))
    })

  connector
    .command('auth <aid> <acid>')
    .description('Replace the credentials (and optionally the authentication and properties); re-runs post-install')
    .option('--auth-id <id>', 'switch to another authentication of the release')
    .option('--auth <key=value>', 'an auth value (repeatable)', collectPair)
    .option('--property <key=value>', 'an account property value (repeatable)', collectPair)
    .action(async (aid: string, acid: string, opts: { authId?: string; auth?: Record<string, string>; property?: Record<string, string> }, cmd: Command) => {
      const { api, out, exitCode } = ctx(cmd)
      const body = { ...(opts.authId ? { authId: opts.authId } : {}), auth: opts.auth ?? {}, ...(opts.property ? { properties: opts.property } : {}) }
      const ac = await api().json<AccountConnector>('PUT', `${one(aid, acid)}/auth`, { json: body })
      out.result(ac, () => showAccountConnector(out, ac))
      // Waiting for OAuth2 authorization is not a failure; a failed test-auth is.
      if (!ac.authenticated && ac.authError) exitCode(1)
    })

  connector
    .command('test-auth <aid> <acid>')
    .description("Run the release's test-auth method again (exit 1 when it fails)")
    .action(async (aid: string, acid: string, _opts, cmd: Command) => {
      const { api, out, exitCode } = ctx(cmd)
      const ac = await api().json<AccountConnector>('POST', `${one(aid, acid)}/test-auth`)
      out.result(ac, () => showAccountConnector(out, ac))
      if (!ac.authenticated) exitCode(1)
    })

  connector
    .command('deauthenticate <aid> <acid>')
    .description('Clear the credentials')
    .action(async (aid: string, acid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const ac = await api().json<AccountConnector>('POST', `${one(aid, acid)}/deauthenticate`)
      out.result(ac, () => out.print(`Deauthenticated ${ac.id}`))
    })

  connector
    .command('oauth-start <aid> <acid>')
    .description("Print the provider's authorize URL (OAuth2); open it in a browser to authorize")
    .action(async (aid: string, acid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const res = await api().json<{ authorizeUrl: string; expiresAt: string }>('GET', `${one(aid, acid)}/oauth/start`)
      out.result(res, () => {
        out.print(res.authorizeUrl)
        out.print(`(valid until ${res.expiresAt}; open it in a browser)`)
      })
    })

  connector
    .command('call <aid> <acid> <mid>')
    .description("Call a method with the account's credentials (data on demand)")
    .option('--param <key=value>', 'a parameter value (repeatable)', collectPair)
    .option('--field <key=value>', 'a request field value (repeatable)', collectPair)
    .option('--pages <n>', 'upstream pages to read (default 1)', parseCount)
    .option('--cursor <cursor>', 'continue after a previous call (its nextCursor)')
    .option('--all', 'follow nextCursor until the data ends')
    .action(async (aid: string, acid: string, mid: string, opts: { param?: Record<string, string>; field?: Record<string, string>; pages?: number; cursor?: string; all?: boolean }, cmd: Command) => {
      const { api, out, exitCode } = ctx(cmd)
      const route = `${one(aid, acid)}/methods/${encodeURIComponent(mid)}/call`
      const body = { parameters: opts.param ?? {}, fields: opts.field ?? {}, ...(opts.pages !== undefined ? { pages: opts.pages } : {}) }
      let cursor = opts.cursor
      let res: CallResult
      const all: CallResult = { ok: true, records: [], pages: 0, nextCursor: null, warnings: [] }
      do {
        res = await api().json<CallResult>('POST', route, { json: { ...body, ...(cursor ? { cursor } : {}) } })
        all.records.push(...res.records)
        all.pages += res.pages
        all.warnings.push(...res.warnings)
        all.nextCursor = res.nextCursor
        if (!res.ok) Object.assign(all, { ok: false, error: res.error })
        cursor = res.nextCursor ?? undefined
      } while (opts.all && res.ok && cursor)
      out.result(all, () => {
        if (all.records.length) out.print(toYaml(all.records).trimEnd())
        out.print(`${all.records.length} record${all.records.length === 1 ? '' : 's'} from ${all.pages} page${all.pages === 1 ? '' : 's'}`)
        for (const w of all.warnings) out.print(`warning ${w.code}: ${w.message}`)
        if (all.error) out.print(`error ${all.error.kind}${all.error.status !== undefined ? ` (HTTP ${all.error.status})` : ''}: ${all.error.message}`)
        if (all.nextCursor) out.print(`more: --cursor ${all.nextCursor}`)
      })
      if (!all.ok) exitCode(1)
    })

  connector
    .command('lookup <aid> <acid> <name>')
    .description('Value/label pairs of a lookup')
    .option('--search <text>', 'only matching values')
    .action(async (aid: string, acid: string, name: string, opts: { search?: string }, cmd: Command) => {
      const { api, out, exitCode } = ctx(cmd)
      const items: { value: string; label: string }[] = []
      let cursor: string | undefined
      let failed: { message: string } | undefined
      do {
        const page = await api().json<{ ok: boolean; items: typeof items; nextCursor: string | null; error?: { message: string } }>('GET', `${one(aid, acid)}/lookups/${encodeURIComponent(name)}`, { query: { search: opts.search, cursor } })
        items.push(...page.items)
        if (!page.ok) failed = page.error ?? { message: 'the lookup failed' }
        cursor = page.nextCursor ?? undefined
      } while (cursor && !failed)
      out.result({ items, ...(failed ? { error: failed } : {}) }, () => {
        out.table(['VALUE', 'LABEL'], items.map((i) => [i.value, i.label]))
        if (failed) out.print(`error: ${failed.message}`)
      })
      if (failed) exitCode(1)
    })

  connector
    .command('delete <aid> <acid>')
    .description('Remove an installed connector and its credentials')
    .action(async (aid: string, acid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      await api().send('DELETE', one(aid, acid))
      out.result({ id: acid, deleted: true }, () => out.print(`Deleted ${acid}`))
    })
}

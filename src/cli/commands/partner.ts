// partner create (admin token) and partner keys (partner API key).
import type { Command } from 'commander'
import { type Context, parseCount } from '../context.js'

interface CreatedPartner {
  id: string
  name: string
  apiKey: string
  keyId: string
  plan: { allowCustomConnectors: boolean; maxCustomConnectors: number | null }
}

export function registerPartnerCommands(program: Command, ctx: (cmd: Command) => Context): void {
  const partner = program.command('partner').description('Partners (tenants) and their API keys')

  partner
    .command('create')
    .description('Create a partner (admin token); prints its API key once')
    .requiredOption('--name <name>', 'partner name')
    .option('--max-connectors <n>', 'plan: most custom connectors allowed', parseCount)
    .option('--no-custom-connectors', 'plan: no custom connectors at all')
    .action(async (opts: { name: string; maxConnectors?: number; customConnectors: boolean }, cmd: Command) => {
      const { admin, out } = ctx(cmd)
      const plan = {
        ...(opts.maxConnectors !== undefined ? { maxCustomConnectors: opts.maxConnectors } : {}),
        ...(opts.customConnectors ? {} : { allowCustomConnectors: false }),
      }
      const p = await admin().json<CreatedPartner>('POST', '/v1/partners', { json: { name: opts.name, ...(Object.keys(plan).length ? { plan } : {}) } })
      out.result(p, () => {
        out.print(`Created partner ${p.id} "${p.name}"`)
        out.print('API key (shown only once; store it now, e.g. as PLEXUS_API_KEY):')
        out.print(`  ${p.apiKey}`)
      })
    })

  partner
    .command('keys')
    .description("List the partner's API keys (prefixes only)")
    .action(async (_opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const res = await api().json<{ items: { id: string; prefix: string; createdAt: string; revokedAt: string | null }[] }>('GET', '/v1/partner/keys')
      out.result(res, () => out.table(['ID', 'PREFIX', 'CREATED', 'REVOKED'], res.items.map((k) => [k.id, k.prefix, k.createdAt, k.revokedAt])))
    })
}

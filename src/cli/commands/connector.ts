// connector create/list/show/update/delete/history/icon.
import { writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import type { Context } from '../context.js'
import { path } from '../http.js'
import type { Output } from '../output.js'

interface Connector {
  id: string
  name: string
  description: string | null
  apiVersion: string | null
  hasIcon: boolean
  builtIn: boolean
  createdAt: string
  updatedAt: string
}

interface HistoryEntry {
  id: string
  releaseId: string | null
  event: string
  version: string | null
  actor: string
  at: string
}

interface SettingsOptions {
  name?: string
  description?: string
  apiVersion?: string
}

/** The settings given on the command line; an empty string clears description/apiVersion. */
const settingsBody = (o: SettingsOptions) => ({
  ...(o.name !== undefined ? { name: o.name } : {}),
  ...(o.description !== undefined ? { description: o.description || null } : {}),
  ...(o.apiVersion !== undefined ? { apiVersion: o.apiVersion || null } : {}),
})

const showConnector = (out: Output, c: Connector) =>
  out.fields([
    ['ID', c.id],
    ['Name', c.name],
    ['Description', c.description],
    ['API version', c.apiVersion],
    ['Icon', c.hasIcon ? 'yes' : 'no'],
    ['Built-in', c.builtIn ? 'yes (read-only)' : 'no'],
    ['Created', c.createdAt],
    ['Updated', c.updatedAt],
  ])

export function registerConnectorCommands(program: Command, ctx: (cmd: Command) => Context): void {
  const connector = program.command('connector').description('Custom connectors: settings, icon and history')

  connector
    .command('create')
    .description('Create a connector (settings only; make a release with `release create`)')
    .requiredOption('--name <name>', 'connector name (no API version in it)')
    .option('--description <text>', 'what the connector is for')
    .option('--api-version <version>', 'version of the third-party API, e.g. v3 or 2024-01')
    .action(async (opts: SettingsOptions, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const c = await api().json<Connector>('POST', '/v1/connectors', { json: settingsBody(opts) })
      out.result(c, () => out.print(`Created connector ${c.id} "${c.name}"`))
    })

  connector
    .command('list')
    .description("The partner's connectors and the built-in library")
    .action(async (_opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const items = await api().all<Connector>('/v1/connectors')
      out.result({ items }, () => out.table(['ID', 'NAME', 'API VERSION', 'ICON', 'BUILT-IN'], items.map((c) => [c.id, c.name, c.apiVersion, c.hasIcon ? 'yes' : 'no', c.builtIn ? 'yes' : 'no'])))
    })

  connector
    .command('show <cid>')
    .description('Show one connector')
    .action(async (cid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const c = await api().json<Connector>('GET', path`/v1/connectors/${cid}`)
      out.result(c, () => showConnector(out, c))
    })

  connector
    .command('update <cid>')
    .description("Change a connector's settings (an empty value clears description/api version)")
    .option('--name <name>', 'connector name')
    .option('--description <text>', 'description')
    .option('--api-version <version>', 'version of the third-party API')
    .action(async (cid: string, opts: SettingsOptions, cmd: Command) => {
      const { api, out, usage } = ctx(cmd)
      const body = settingsBody(opts)
      if (!Object.keys(body).length) usage('nothing to update: give --name, --description or --api-version')
      const c = await api().json<Connector>('PATCH', path`/v1/connectors/${cid}`, { json: body })
      out.result(c, () => out.print(`Updated connector ${c.id} "${c.name}"`))
    })

  connector
    .command('delete <cid>')
    .description('Delete a connector and all its releases')
    .action(async (cid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      await api().send('DELETE', path`/v1/connectors/${cid}`)
      out.result({ id: cid, deleted: true }, () => out.print(`Deleted connector ${cid}`))
    })

  connector
    .command('history <cid>')
    .description('Every lifecycle change of the connector, oldest first')
    .action(async (cid: string, _opts, cmd: Command) => {
      const { api, out } = ctx(cmd)
      const items = await api().all<HistoryEntry>(path`/v1/connectors/${cid}/history`)
      out.result({ items }, () => out.table(['AT', 'EVENT', 'VERSION', 'RELEASE', 'ACTOR'], items.map((h) => [h.at, h.event, h.version, h.releaseId, h.actor])))
    })

  connector
    .command('icon <cid>')
    .description('Upload (--file, a 400x400 PNG) or download (--out) the connector icon')
    .option('--file <png>', 'upload this PNG')
    .option('--out <file>', 'write the icon to this file')
    .action(async (cid: string, opts: { file?: string; out?: string }, cmd: Command) => {
      const { api, out, usage, readFile } = ctx(cmd)
      if (!opts.file === !opts.out) usage('give either --file <png> to upload or --out <file> to download')
      if (opts.file) {
        const png = readFile(opts.file)
        await api().send('PUT', path`/v1/connectors/${cid}/icon`, { body: png, contentType: 'image/png' })
        out.result({ id: cid, icon: 'uploaded', bytes: png.length }, () => out.print(`Uploaded the icon of ${cid} (${png.length} bytes)`))
      } else {
        const png = (await api().send('GET', path`/v1/connectors/${cid}/icon`)) ?? Buffer.alloc(0)
        writeFileSync(opts.out as string, png)
        out.result({ id: cid, icon: opts.out, bytes: png.length }, () => out.print(`Wrote the icon of ${cid} to ${opts.out} (${png.length} bytes)`))
      }
    })
}

// The `plexus` CLI: serve, worker and migrate in process; partner, connector, release, account,
// template and cycle commands over the HTTP API (PLEXUS_URL). Exit codes: 0 ok, 1 API error
// (4xx/5xx) or failure, 2 usage error, 3 server unreachable.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { Command, CommanderError } from 'commander'
import { registerAccountCommands } from './commands/account.js'
import { registerConnectorCommands } from './commands/connector.js'
import { registerCycleCommands } from './commands/cycle.js'
import { registerPartnerCommands } from './commands/partner.js'
import { registerReleaseCommands } from './commands/release.js'
import { registerServerCommands } from './commands/server.js'
import { registerUpgradeCommands } from './commands/upgrade.js'
import { DEFAULT_URL, makeContext } from './context.js'
import { ApiError, UnreachableError } from './http.js'
import { type CliIO, formatApiError } from './output.js'

export type { CliIO } from './output.js'

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

export async function main(argv: string[], io: CliIO): Promise<number> {
  const status = { code: 0 }
  const program = new Command('plexus')
    .description('Plexus: custom connectors and their releases, templates, and the cycles that run them')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    .option('--json', 'print the raw JSON of the API (for scripts)')
    .option('--url <url>', `the Plexus server (default: PLEXUS_URL or ${DEFAULT_URL})`)
    .option('--api-key <key>', 'partner API key (default: PLEXUS_API_KEY)')
    .option('--admin-token <token>', 'admin token for partner create (default: PLEXUS_ADMIN_TOKEN)')
  const ctx = (cmd: Command) => makeContext(cmd, io, status)
  registerServerCommands(program, ctx)
  registerPartnerCommands(program, ctx)
  registerConnectorCommands(program, ctx)
  registerReleaseCommands(program, ctx)
  registerAccountCommands(program, ctx)
  registerCycleCommands(program, ctx)
  registerUpgradeCommands(program, ctx)

  const fail = (code: number, ...lines: string[]) => {
    for (const l of lines) io.stderr.write(l + '\n')
    return code
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
    return status.code
  } catch (err) {
    // Commander has already printed its message (usage errors, help, version).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    if (err instanceof ApiError) return fail(1, ...formatApiError(err))
    if (err instanceof UnreachableError) return fail(3, `error UNREACHABLE: ${err.message}`, '  is the server running? Set PLEXUS_URL (or --url) to its address')
    return fail(1, `error: ${(err as Error).message ?? err}`)
  }
}

/** Runs the CLI with the process's arguments and streams; sets the exit code. */
export async function run(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env })
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run()

// `plexus release impact|upgrade|usage|sunset`, `template upgrade`, `cycle upgrade` and
// `connector upgrade` against a real app (SQLite) listening on a port, with a clock the test moves.
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { main } from '../../src/cli/index.js'
import { TestClock } from '../helpers/account-apis.js'
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'

interface Run {
  code: number
  stdout: string
  stderr: string
  json(): any
}

async function run(args: string[], env: Record<string, string | undefined>, tty = false): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const text = (s: string | Uint8Array) => (typeof s === 'string' ? s : Buffer.from(s).toString('utf8'))
  const code = await main(args, { stdout: { write: (s) => (stdout += text(s)) }, stderr: { write: (s) => (stderr += s), isTTY: tty, columns: 120 }, env })
  return { code, stdout, stderr, json: () => JSON.parse(stdout) }
}

const DAY = 24 * 60 * 60 * 1000

describe('plexus upgrade, impact, usage and sunset CLI', () => {
  let t: TestApp
  const clock = new TestClock(Date.parse('2026-06-01T00:00:00.000Z'))
  let env: Record<string, string>
  let key: string
  let cid: string
  let aid: string
  let v1: string
  let v2: string
  /** a template whose steps upgrade cleanly, and one whose create-contact step needs the new Phone */
  let okTpl: string
  let breakTpl: string
  let okCycles: string[]
  let breakCycle: string
  let forcedCycle: string
  const cli = (...args: string[]) => run(args, env)
  const ok = async (...args: string[]) => {
    const r = await cli(...args)
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await t.call(method, url, { key, body })
    assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`)
    return res.json()
  }
  const pins = async (kind: 'template' | 'cycle', id: string) =>
    ((await api('GET', kind === 'template' ? `/v1/templates/${id}` : `/v1/accounts/${aid}/cycles/${id}`)).steps as Array<{ connector?: { releaseId: string } }>).flatMap((s) => (s.connector ? [s.connector.releaseId] : []))
  const push = async (body: object) => {
    const d = await api('POST', `/v1/connectors/${cid}/releases`, body)
    return (await api('POST', `/v1/connectors/${cid}/releases/${d.id}/push`, { kind: 'major' })).id as string
  }

  before(async () => {
    t = await startTestApp('sqlite', { clock })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    env = { PLEXUS_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, PLEXUS_ADMIN_TOKEN: ADMIN_TOKEN, PLEXUS_API_KEY: '' }
    key = (await t.newPartner('Upgrades partner')).apiKey
    env.PLEXUS_API_KEY = key
    cid = (await api('POST', '/v1/connectors', { name: 'CRM' })).id
    aid = (await api('POST', '/v1/accounts', { name: 'Globex', externalId: 'globex-1' })).id
    const settings = { ...crmSettings(), postInstallTestAuthMethod: undefined }
    const def = crmDefinition()
    def.methods.push(createContactMethod() as never)
    v1 = await push({ settings, definition: def })
    await api('POST', `/v1/accounts/${aid}/connectors`, { connectorId: cid, auth: { ApiKey: 'k-1' }, properties: { Subdomain: 'acme' } })
    const trigger = { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } }
    okTpl = (await api('POST', '/v1/templates', { name: 'Who am I', steps: [trigger, { key: 'me', type: 'action', connector: { connectorId: cid, methodId: 'get-me' } }] })).id
    breakTpl = (await api('POST', '/v1/templates', { name: 'Copy contacts', steps: [trigger, { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'trigger', field: 'Email' } } }] })).id
    okCycles = [(await api('POST', `/v1/templates/${okTpl}/install`, { accountId: aid })).id, (await api('POST', `/v1/templates/${okTpl}/install`, { accountId: aid })).id]
    breakCycle = (await api('POST', `/v1/templates/${breakTpl}/install`, { accountId: aid })).id
    forcedCycle = (await api('POST', `/v1/templates/${breakTpl}/install`, { accountId: aid })).id
    // 2.0: create-contact gets a required Phone field
    const def2 = structuredClone(def)
    const create = def2.methods.find((m) => m.id === 'create-contact') as unknown as { request: { fields: object[] } }
    create.request.fields.push({ location: 'phone', field: 'Phone', type: 'text' })
    v2 = await push({ settings, definition: def2 })
  })
  after(() => t.close())

  test('release impact: a summary, a table of templates and cycles, the steps that would break; --json is the API answer', async () => {
    const r = await ok('release', 'impact', cid, 'live')
    assert.match(r.stdout, new RegExp(`^Impact of ${v2} \\(2\\.0, live\\) on connector ${cid}$`, 'm'))
    assert.match(r.stdout, /^ {2}2 templates \(1 breaking\), 4 cycles \(2 breaking\) in 1 account$/m)
    assert.match(r.stdout, /^ {2}on 1\.0: 4 template steps, 8 cycle steps$/m)
    assert.match(r.stdout, /^KIND +ID +ACCOUNT +NAME +STEPS +OUTCOMES +BREAKING$/m)
    assert.match(r.stdout, new RegExp(`^template +${breakTpl} +- +Copy contacts +2 +upgradable, needsInput +yes$`, 'm'))
    assert.match(r.stdout, new RegExp(`^cycle +${okCycles[0]} +${aid} +Who am I +2 +upgradable +no$`, 'm'))
    assert.match(r.stdout, new RegExp(`^cycle ${breakCycle}\\n {2}create {2}1\\.0 → 2\\.0 {2}needsInput.*\\n {4}needed {2}fields\\.Phone: `, 'm'))
    assert.doesNotMatch(r.stdout, new RegExp(`^template ${okTpl}$`, 'm'), 'steps that do not break are left out without --steps')
    assert.match((await ok('release', 'impact', cid, 'live', '--steps')).stdout, new RegExp(`^template ${okTpl}\\n {2}trigger {2}1\\.0 → 2\\.0 {2}upgradable`, 'm'))

    const j = await ok('--json', 'release', 'impact', cid, v2)
    assert.deepEqual(j.json(), await api('GET', `/v1/connectors/${cid}/releases/${v2}/impact`))
    const missing = await cli('release', 'impact', cid, 'rel_nope')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^error NOT_FOUND: /)
  })

  test('template upgrade and cycle upgrade: --dry-run reports, a blocked upgrade exits 1 with its report, --force pauses', async () => {
    const dry = await ok('template', 'upgrade', breakTpl, '--dry-run')
    assert.match(dry.stdout, new RegExp(`^Dry run: template ${breakTpl} "Copy contacts" would be blocked$`, 'm'))
    assert.match(dry.stdout, /^ {4}needed {2}fields\.Phone: /m)
    assert.match(dry.stdout, /^ {2}problem /m)
    const blocked = await cli('template', 'upgrade', breakTpl)
    assert.equal(blocked.code, 1)
    assert.match(blocked.stderr, /^error UPGRADE_BLOCKED: the template cannot be upgraded/)
    assert.match(blocked.stdout, new RegExp(`^template ${breakTpl} "Copy contacts" blocked$`, 'm'))
    assert.deepEqual(await pins('template', breakTpl), [v1, v1])

    const cdry = await ok('--json', 'cycle', 'upgrade', aid, breakCycle, '--dry-run')
    assert.equal(cdry.json().dryRun, true)
    assert.equal(cdry.json().upgraded, false)
    const cblocked = await cli('cycle', 'upgrade', aid, breakCycle)
    assert.equal(cblocked.code, 1)
    assert.match(cblocked.stderr, /^error UPGRADE_BLOCKED: the cycle cannot be upgraded/)
    const jblocked = await cli('--json', 'cycle', 'upgrade', aid, breakCycle)
    assert.equal(jblocked.code, 1)
    assert.equal(jblocked.json().cycleId, breakCycle, 'the blocked report on stdout with --json')
    assert.equal(jblocked.json().upgraded, false)
    assert.equal(jblocked.stderr.split('\n')[0].startsWith('error UPGRADE_BLOCKED: '), true)
    const forced = await ok('cycle', 'upgrade', aid, forcedCycle, '--force')
    assert.match(forced.stdout, new RegExp(`^cycle ${forcedCycle} "Copy contacts" \\(account ${aid}\\) upgraded and paused: `, 'm'))
    assert.deepEqual(await pins('cycle', forcedCycle), [v2, v2])
    assert.deepEqual(await pins('cycle', breakCycle), [v1, v1])

    // one step: the step routes, same report shape
    const step = await ok('--json', 'cycle', 'upgrade', aid, breakCycle, '--step', 'trigger', '--dry-run')
    assert.deepEqual(step.json().steps.map((s: { stepKey: string; outcome: string }) => [s.stepKey, s.outcome]), [['trigger', 'upgradable']])
    const tstep = await ok('template', 'upgrade', okTpl, '--step', 'me', '--dry-run')
    assert.match(tstep.stdout, /^ {2}me {2}1\.0 → 2\.0 {2}upgradable$/m)
    assert.doesNotMatch(tstep.stdout, /^ {2}trigger /m)
  })

  test('connector upgrade --dry-run: one request per template and cycle, n/N lines on a non-terminal stderr, nothing changed', async () => {
    const r = await ok('connector', 'upgrade', cid, '--dry-run')
    // 2 templates and the 3 cycles still behind (the forced one is on 2.0 already)
    assert.deepEqual(r.stderr.trimEnd().split('\n').map((l) => l.split(' ')[0]), ['1/5', '2/5', '3/5', '4/5', '5/5'])
    assert.match(r.stderr, new RegExp(`^1/5 template ${okTpl} would be upgraded$`, 'm'))
    assert.match(r.stderr, new RegExp(`^\\d/5 cycle ${breakCycle} would be blocked$`, 'm'))
    assert.match(r.stdout, new RegExp(`^Dry run: upgrade of connector ${cid} to 2\\.0$`, 'm'))
    assert.match(r.stdout, /^ {2}templates: 1 would be upgraded, 1 blocked$/m)
    assert.match(r.stdout, /^ {2}cycles: {4}2 would be upgraded \(0 would be paused\), 1 blocked$/m)
    assert.deepEqual(await pins('template', okTpl), [v1, v1], 'a dry run changes nothing')

    const j = await ok('--json', 'connector', 'upgrade', cid, '--dry-run', '--scope', 'cycles')
    assert.equal(j.stderr, '', 'no progress with --json')
    assert.deepEqual(j.json().summary, { templates: { upgraded: 0, blocked: 0 }, cycles: { upgraded: 2, paused: 0, blocked: 1 } })
    assert.deepEqual(j.json().failed, [])

    const tty = await run(['connector', 'upgrade', cid, '--dry-run', '--scope', 'templates'], env, true)
    assert.equal(tty.code, 0, tty.stderr)
    assert.ok(tty.stderr.startsWith('\r[###############---------------] 1/2 template '), JSON.stringify(tty.stderr))
    assert.ok(tty.stderr.includes('\r[##############################] 2/2 template '), JSON.stringify(tty.stderr))
    assert.ok(tty.stderr.endsWith('\x1b[K\n'))

    const server = await ok('--json', 'connector', 'upgrade', cid, '--dry-run', '--single-request')
    assert.equal(server.stderr, '')
    assert.deepEqual(server.json().summary, { templates: { upgraded: 1, blocked: 1 }, cycles: { upgraded: 2, paused: 0, blocked: 1 } })
    const badScope = await cli('connector', 'upgrade', cid, '--scope', 'steps')
    assert.equal(badScope.code, 2)
  })

  test('release sunset, list --usage and usage: the date, who is still on it, the warning as it nears', async () => {
    const onLive = await cli('release', 'sunset', cid, v2, '2027-01-01')
    assert.equal(onLive.code, 1)
    assert.match(onLive.stderr, /^error RELEASE_NOT_DEPRECATED: /)
    const past = await cli('release', 'sunset', cid, v1, '2026-01-01')
    assert.equal(past.code, 1)
    assert.match(past.stderr, /^error BAD_REQUEST: sunsetAt: .* not in the future/)
    assert.equal((await cli('release', 'sunset', cid, v1)).code, 2, 'a date or --clear')

    const set = await ok('release', 'sunset', cid, v1, '2026-07-01')
    assert.equal(set.stdout, `Release ${v1} (1.0) sunsets on 2026-07-01T00:00:00.000Z\nwarning: release 1.0 sunsets in 30 days (2026-07-01T00:00:00.000Z): upgrade what still uses it\n`)

    const list = await ok('release', 'list', cid, '--usage')
    assert.match(list.stdout, /^ID +STATE +VERSION +STATUS +CREATED +PUSHED +ACCOUNTS +CYCLES +TEMPLATES +SUNSET$/m)
    assert.match(list.stdout, new RegExp(`^${v1} +deprecated +1\\.0 +Approved +\\S+ +\\S+ +1 +3 +2 +2026-07-01T00:00:00\\.000Z$`, 'm'))
    assert.match(list.stdout, new RegExp(`^${v2} +live +2\\.0 +Approved +\\S+ +\\S+ +1 +1 +0 +-$`, 'm'))
    assert.equal(list.stderr, 'warning: release 1.0 sunsets in 30 days (2026-07-01T00:00:00.000Z): upgrade what still uses it\n')

    const usage = await ok('release', 'usage', cid, v1)
    assert.match(usage.stdout, /^Sunset +2026-07-01T00:00:00\.000Z \(30 days left\)$/m)
    assert.match(usage.stdout, /^Still on it +1 account, 1 account connector, 3 cycles \(6 steps\), 2 templates \(4 steps\)$/m)
    assert.match(usage.stdout, new RegExp(`^${aid} +Globex +globex-1 +1 +3 +6$`, 'm'))
    assert.match(usage.stdout, new RegExp(`^${breakCycle} +${aid} +Copy contacts +paused +2$`, 'm'))
    assert.deepEqual((await ok('--json', 'release', 'usage', cid, v1)).json(), await api('GET', `/v1/connectors/${cid}/releases/${v1}/usage`))
  })

  test('release upgrade <cid> <rid> moves what is on that release; blocked ones exit 1; after the sunset installs are refused', async () => {
    const r = await cli('release', 'upgrade', cid, v1)
    assert.equal(r.code, 1, 'the blocked template and cycle are left behind')
    assert.match(r.stdout, new RegExp(`^upgrade of connector ${cid} \\(what is on ${v1}\\) to 2\\.0$`, 'm'))
    assert.match(r.stderr, new RegExp(`^5/5 cycle ${breakCycle} blocked$`, 'm'))
    assert.match(r.stdout, /^ {2}templates: 1 upgraded, 1 blocked$/m)
    assert.match(r.stdout, /^ {2}cycles: {4}2 upgraded \(0 paused\), 1 blocked$/m)
    assert.match(r.stdout, new RegExp(`^template ${breakTpl} "Copy contacts" blocked$`, 'm'))
    assert.deepEqual(await pins('template', okTpl), [v2, v2])
    for (const y of okCycles) assert.deepEqual(await pins('cycle', y), [v2, v2])
    assert.deepEqual(await pins('cycle', breakCycle), [v1, v1])

    clock.advance(31 * DAY)
    const usage = await ok('release', 'usage', cid, v1)
    assert.match(usage.stdout, /^Sunset +2026-07-01T00:00:00\.000Z \(passed: new installs are refused\)$/m)
    assert.match(usage.stdout, /^Still on it +1 account, 1 account connector, 1 cycle \(2 steps\), 1 template \(2 steps\)$/m)
    const refused = await cli('template', 'install', breakTpl, '--account', aid)
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^error RELEASE_SUNSET: installing template .* 1\.0 of connector/)
    await ok('template', 'install', okTpl, '--account', aid)

    const cleared = await ok('release', 'sunset', cid, v1, '--clear')
    assert.equal(cleared.stdout, `Release ${v1} (1.0) has no sunset date\n`)
  })
})

// `plexus template …` and `plexus cycle …` against a real app (SQLite, the engine running in
// process) and a local CRM API: from a template file to the transactions it ran.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { stringify as toYaml } from 'yaml'
import { main } from '../../src/cli/index.js'
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js'
import { startServer, type TestServer } from '../helpers/http-server.js'
import { until } from '../helpers/until.js'

const API_KEY = 'crm-key-0123456789'

interface Run {
  code: number
  stdout: string
  stderr: string
  json(): any
}

async function run(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const text = (s: string | Uint8Array) => (typeof s === 'string' ? s : Buffer.from(s).toString('utf8'))
  const code = await main(args, { stdout: { write: (s) => (stdout += text(s)) }, stderr: { write: (s) => (stderr += s) }, env })
  return { code, stdout, stderr, json: () => JSON.parse(stdout) }
}

/** Five contacts over three pages; creating one with the email bad@example.com is a 400. */
async function startCrm(): Promise<{ server: TestServer; created: Array<Record<string, unknown>> }> {
  const contacts = [
    { id: 'c1', email: 'ada@example.com', name: 'Ada' },
    { id: 'c2', email: 'grace@example.com', name: 'Grace' },
    { id: 'c3', email: 'bad@example.com', name: 'Mallory' },
    { id: 'c4', email: 'alan@example.com', name: 'Alan' },
    { id: 'c5', email: 'edsger@example.com', name: 'Edsger' },
  ]
  const created: Array<Record<string, unknown>> = []
  const server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (req.headers['x-api-key'] !== API_KEY) {
      res.statusCode = 401
      return res.end('{"error":"bad key"}')
    }
    if (url.pathname === '/me') return res.end('{"id":"u1"}')
    if (req.method === 'GET' && url.pathname === '/contacts') {
      const page = Number(url.searchParams.get('page'))
      const size = Number(url.searchParams.get('per_page'))
      return res.end(JSON.stringify({ data: contacts.slice((page - 1) * size, page * size) }))
    }
    if (req.method === 'POST' && url.pathname === '/contacts') {
      const item = JSON.parse(body) as Record<string, unknown>
      if (item.email === 'bad@example.com') {
        res.statusCode = 400
        return res.end('{"error":"email rejected"}')
      }
      created.push(item)
      res.statusCode = 201
      return res.end(JSON.stringify({ id: `n${created.length}` }))
    }
    res.statusCode = 404
    res.end('{}')
  })
  return { server, created }
}

const release = (baseUrl: string) => ({
  settings: { status: 'Approved', inboundPaging: true, inboundPageSize: 2, postInstallTestAuthMethod: 'get-me' },
  definition: {
    baseUrl,
    authentications: [{ id: 'key', name: 'API key', type: 'apiKey', in: 'header', header: 'X-Api-Key', default: true }],
    methods: [
      { id: 'get-me', name: 'Get Me', category: 'Users', type: 'action', http: { method: 'GET', path: '/me' }, response: { fields: [{ location: 'id', field: 'UserId' }] } },
      {
        id: 'list-contacts',
        name: 'List Contacts',
        category: 'Contacts',
        type: 'action',
        http: { method: 'GET', path: '/contacts' },
        parameters: [
          { name: 'page', target: 'query', value: '{{PAGE_NUMBER}}', hidden: true },
          { name: 'per_page', target: 'query', value: '{{PAGE_SIZE}}', hidden: true },
        ],
        records: 'data',
        response: { fields: [{ location: 'id', field: 'ContactId' }, { location: 'email', field: 'Email' }, { location: 'name', field: 'Name' }] },
      },
      {
        id: 'create-contact',
        name: 'Create Contact',
        category: 'Contacts',
        type: 'action',
        http: { method: 'POST', path: '/contacts' },
        request: { format: 'json', fields: [{ location: 'email', field: 'Email' }, { location: 'name', field: 'Name', optional: true }, { location: 'owner', field: 'Owner' }, { location: 'source', field: 'Source', optional: true }] },
        response: { fields: [{ location: 'id', field: 'NewId' }] },
      },
    ],
  },
})

const template = (cid: string) => ({
  name: 'Copy contacts',
  description: 'Every CRM contact into the CRM again, upper-cased',
  steps: [
    { key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'list-contacts' } },
    {
      key: 'create',
      type: 'action',
      connector: { connectorId: cid, methodId: 'create-contact' },
      fields: {
        Email: { type: 'step', step: 'trigger', field: 'Email' },
        Name: { type: 'script', value: '=fields.Name.toUpperCase()' },
        Source: { type: 'template', value: 'cli {{trigger.ContactId}}' },
      },
      userConfigurable: ['Owner'],
    },
  ],
})

describe('plexus template and cycle CLI', () => {
  let t: TestApp
  let crm: Awaited<ReturnType<typeof startCrm>>
  let env: Record<string, string>
  let dir: string
  let cid: string
  let aid: string
  const cli = (...args: string[]) => run(args, env)
  const ok = async (...args: string[]) => {
    const r = await cli(...args)
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }
  const id = (r: Run, re: RegExp) => {
    const m = re.exec(r.stdout)
    assert.ok(m, r.stdout)
    return m[1]
  }
  const file = (name: string, content: string) => {
    const p = join(dir, name)
    writeFileSync(p, content)
    return p
  }

  before(async () => {
    crm = await startCrm()
    t = await startTestApp('sqlite', { config: { allowPrivateNetwork: true } })
    await t.services.engine.start({ concurrency: 2 })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    dir = mkdtempSync(join(tmpdir(), 'plexus-cli-cycle-'))
    env = { PLEXUS_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, PLEXUS_ADMIN_TOKEN: ADMIN_TOKEN, PLEXUS_API_KEY: '' }
    env.PLEXUS_API_KEY = (await run(['--json', 'partner', 'create', '--name', 'Cycles partner'], env)).json().apiKey
    cid = id(await ok('connector', 'create', '--name', 'CRM'), /Created connector (\S+)/)
    const rid = id(await ok('release', 'create', cid, '--file', file('release.yaml', toYaml(release(crm.server.url)))), /Created draft (\S+)/)
    await ok('release', 'push', cid, rid, '--major')
    aid = id(await ok('account', 'create', '--name', 'Globex', '--external-id', 'globex-1'), /Created account (\S+)/)
    await ok('account', 'connector', 'install', aid, cid, '--auth', `ApiKey=${API_KEY}`)
  })
  after(async () => {
    await t.close()
    await crm.server.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('the walkthrough: template create, install, prerequisites, activate, transactions, incidents', async () => {
    // template create (YAML), list, show
    const tid = id(await ok('template', 'create', '--file', file('template.yaml', toYaml(template(cid)))), /^Created template (tpl_\S+) "Copy contacts" \(2 steps\)$/m)
    assert.match((await ok('template', 'list')).stdout, new RegExp(`^ID +NAME +UPDATED\\n${tid} +Copy contacts +\\S+$`, 'm'))
    const shown = (await ok('template', 'show', tid)).stdout
    assert.match(shown, /^Name +Copy contacts$/m)
    assert.match(shown, /^Steps \(2\):$/m)
    assert.match(shown, new RegExp(`^trigger +trigger +${cid} +list-contacts +rel_\\S+ \\(1\\.0\\)`, 'm'))
    assert.match(shown, new RegExp(`^create +action +${cid} +create-contact +rel_\\S+ \\(1\\.0\\) +Owner`, 'm'))
    assert.equal((await ok('--json', 'template', 'show', tid)).json().steps.length, 2)

    // install without the user-configurable value: paused, one prerequisite; activation refused
    const first = await ok('template', 'install', tid, '--account', aid, '--name', 'Unconfigured')
    const pending = id(first, /as cycle (cyc_\S+) \(paused\)/)
    assert.match(first.stdout, /^Prerequisites \(1\):$/m)
    assert.match(first.stdout, /^41 +MISSING_FIELD_VALUE +create +user-configurable field "Owner" of step "create" has no value$/m)
    assert.deepEqual((await ok('--json', 'cycle', 'prerequisites', aid, pending)).json().items.map((p: { reasonCode: number }) => p.reasonCode), [41])
    const refused = await cli('cycle', 'activate', aid, pending, '--run-once')
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^error PREREQUISITES_UNMET: the cycle cannot be activated/)
    assert.match(refused.stderr, /^ {2}user-configurable field "Owner" of step "create" has no value$/m)
    const configured = await ok('cycle', 'configure', aid, pending, '--value', 'create.Owner=bob')
    assert.match(configured.stdout, /^Prerequisites: none \(ready to activate\)$/m)

    // install with --value: ready at once
    const installed = await ok('template', 'install', tid, '--account', aid, '--value', 'create.Owner=alice')
    const yid = id(installed, /^Installed template \S+ into account \S+ as cycle (cyc_\S+) \(paused\)$/m)
    assert.match(installed.stdout, /^Prerequisites: none \(ready to activate\)$/m)
    const list = (await ok('cycle', 'list', '--account', aid)).stdout
    assert.match(list, /^ID +NAME +STATUS +RUNS +TEMPLATE +REASON$/m)
    assert.match(list, new RegExp(`^${yid} +Copy contacts +paused +- +${tid}`, 'm'))
    assert.match(list, new RegExp(`^${pending} +Unconfigured +paused`, 'm'))
    const before = (await ok('cycle', 'show', aid, yid)).stdout
    assert.match(before, /^Status +paused$/m)
    assert.match(before, /^create +action +\S+ +create-contact +acn_\S+ +Owner=alice +-$/m)

    // activate (run once) and watch the transactions settle
    const activated = await ok('cycle', 'activate', aid, yid, '--run-once')
    assert.match(activated.stdout, new RegExp(`^Activated cycle ${yid}: runs once$`, 'm'))
    const items = await until('five settled transactions', async () => {
      const r = await ok('--json', 'cycle', 'transactions', aid, yid)
      const xs = r.json().items as Array<{ id: string; status: string; trigger: { ContactId: string } }>
      return xs.length === 5 && xs.every((x) => ['succeeded', 'failed'].includes(x.status)) && xs
    })
    assert.deepEqual(items.map((x) => x.status).sort(), ['failed', 'succeeded', 'succeeded', 'succeeded', 'succeeded'])
    assert.deepEqual(crm.created.map((c) => c.email).sort(), ['ada@example.com', 'alan@example.com', 'edsger@example.com', 'grace@example.com'])
    assert.deepEqual(crm.created.find((c) => c.email === 'ada@example.com'), { email: 'ada@example.com', name: 'ADA', owner: 'alice', source: 'cli c1' })

    const listed = (await ok('cycle', 'transactions', aid, yid)).stdout
    assert.match(listed, /^ID +STATUS +CREATED +FINISHED +ERROR$/m)
    assert.equal(listed.match(/^txn_\S+ +succeeded /gm)?.length, 4)
    assert.match(listed, /^txn_\S+ +failed +\S+ +\S+ +step "create" failed: /m)
    assert.match(listed, /^5 transactions: (4 succeeded, 1 failed|1 failed, 4 succeeded)$/m)
    const failed = await ok('--json', 'cycle', 'transactions', aid, yid, '--status', 'failed')
    assert.equal(failed.json().items.length, 1)
    assert.equal(failed.json().items[0].trigger.ContactId, 'c3')

    // one transaction with its step runs (and logs, secrets redacted)
    const good = items.find((x) => x.trigger.ContactId === 'c1')!
    const detail = (await ok('cycle', 'transaction', aid, yid, good.id, '--logs')).stdout
    assert.match(detail, /^Status +succeeded$/m)
    assert.match(detail, /^ {2}ContactId: c1$/m)
    assert.match(detail, /^Step runs \(1\):$/m)
    assert.match(detail, /^create +succeeded +1 +\d+ ms +\S+ +-$/m)
    assert.match(detail, /^Log of create \(attempt 1\):$/m)
    assert.ok(!detail.includes(API_KEY), 'the API key never appears in step logs')
    const json = (await ok('--json', 'cycle', 'transaction', aid, yid, good.id)).json()
    assert.equal(json.outputs.create.NewId.startsWith('n'), true)
    assert.deepEqual(json.steps.map((s: { stepKey: string; status: string }) => [s.stepKey, s.status]), [['create', 'succeeded']])

    // incidents: the rejected contact
    const incidents = (await ok('cycle', 'incidents', aid, yid)).stdout
    assert.match(incidents, /^AT +LEVEL +STEP +TRANSACTION +MESSAGE +DETAIL$/m)
    assert.match(incidents, new RegExp(`^\\S+ +error +create +${failed.json().items[0].id} +Failed to call the method +.*400`, 'm'))

    // run once pauses the cycle again and records the trigger's last successful run
    const paused = await until('the run-once cycle to pause', async () => {
      const y = (await ok('--json', 'cycle', 'show', aid, yid)).json()
      return y.status === 'paused' && y
    })
    assert.ok(paused.steps[0].lastSuccessfulRunAt)

    // run now, then an interval activation and a deactivation
    assert.match((await ok('cycle', 'run', aid, yid)).stdout, new RegExp(`^Queued a run of cycle ${yid}$`, 'm'))
    await until('ten transactions', async () => {
      const xs = (await ok('--json', 'cycle', 'transactions', aid, yid)).json().items as Array<{ status: string }>
      return xs.length === 10 && xs.every((x) => ['succeeded', 'failed'].includes(x.status))
    })
    const start = new Date(Date.now() + 3_600_000).toISOString()
    assert.match((await ok('cycle', 'activate', aid, yid, '--interval', '60', '--start-time', start)).stdout, new RegExp(`^Activated cycle ${yid}: runs every 60 min from ${start.replace(/[.]/g, '\\.')}$`, 'm'))
    assert.match((await ok('cycle', 'list', '--account', aid, '--status', 'active')).stdout, new RegExp(`^${yid} +Copy contacts +active +every 60 min`, 'm'))
    assert.match((await ok('cycle', 'deactivate', aid, yid)).stdout, new RegExp(`^Deactivated cycle ${yid} \\(paused\\); dropped 0 queued transactions$`, 'm'))
    assert.match((await ok('cycle', 'deactivate', aid, yid, '--finish-queued')).stdout, /queued transactions will finish/)
    assert.equal((await ok('--json', 'cycle', 'show', aid, yid)).json().status, 'paused')
  })

  test('errors: validation problems, unknown ids, usage', async () => {
    const bad = await cli('template', 'create', '--file', file('bad.json', JSON.stringify({ name: 'Broken', steps: [{ key: 'trigger', type: 'trigger', connector: { connectorId: cid, methodId: 'nope' } }, { key: 'create', type: 'action', connector: { connectorId: cid, methodId: 'create-contact' }, fields: { Email: { type: 'step', step: 'later', field: 'Email' } } }] })))
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /^error VALIDATION_FAILED: the template has 3 problems/)
    assert.match(bad.stderr, /^ {2}\/steps\/0\/connector\/methodId: release \S+ has no method "nope"$/m)
    assert.match(bad.stderr, /^ {2}\/steps\/1\/fields\/Email: step "later" does not exist$/m)
    assert.match(bad.stderr, /^ {2}\/steps\/1\/fields\/Owner: required field "Owner" is not mapped/m)

    const missing = await cli('cycle', 'show', aid, 'cyc_nope')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^error NOT_FOUND: /)
    assert.equal((await cli('template', 'show', 'tpl_nope')).code, 1)
    assert.equal((await cli('cycle', 'transaction', aid, 'cyc_nope', 'txn_nope')).code, 1)

    const usage = async (args: string[], message: RegExp) => {
      const r = await cli(...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.match(r.stderr, message)
    }
    await usage(['template', 'create'], /--file/)
    await usage(['template', 'create', '--file', join(dir, 'missing.yaml')], /cannot read/)
    await usage(['template', 'create', '--file', file('list.yaml', '- a\n- b\n')], /not a template document/)
    await usage(['template', 'install', 'tpl_x'], /--account/)
    await usage(['template', 'install', 'tpl_x', '--account', aid, '--value', 'Owner=alice'], /step\.Field=value/)
    await usage(['cycle', 'list'], /--account/)
    await usage(['cycle', 'activate', aid, 'cyc_x', '--interval', '5', '--run-once'], /cannot be used with/)
    await usage(['cycle', 'activate', aid, 'cyc_x', '--interval', 'often'], /whole number/)
    await usage(['cycle', 'activate', aid, 'cyc_x', '--run-once', '--start-time', 'tomorrow'], /ISO 8601/)
    await usage(['cycle', 'transactions', aid, 'cyc_x', '--status', 'done'], /Allowed choices/)
    await usage(['cycle', 'configure', aid, 'cyc_x'], /nothing to set/)
  })
})

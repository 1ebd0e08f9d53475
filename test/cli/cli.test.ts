import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { main } from '../../src/cli/index.js'
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js'
import { createContactMethod, crmDefinition, crmSettings } from '../helpers/definitions.js'
import { startServer } from '../helpers/http-server.js'
import { makePng } from '../helpers/images.js'

interface Run {
  code: number
  stdout: string
  stderr: string
  json(): any
}

/** Runs the CLI in process with captured output. */
async function run(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const text = (s: string | Uint8Array) => (typeof s === 'string' ? s : Buffer.from(s).toString('utf8'))
  const code = await main(args, { stdout: { write: (s) => (stdout += text(s)) }, stderr: { write: (s) => (stderr += s) }, env })
  return { code, stdout, stderr, json: () => JSON.parse(stdout) }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const bin = fileURLToPath(new URL('../../bin/plexus.js', import.meta.url))

describe('plexus CLI', () => {
  let t: TestApp
  let dir: string
  let env: Record<string, string>
  const file = (name: string, content: string | Buffer) => {
    const p = join(dir, name)
    writeFileSync(p, content)
    return p
  }
  /** Runs with the partner key (and the admin token, and the server URL). */
  const cli = (...args: string[]) => run(args, env)
  const created = (r: Run, what: RegExp) => {
    assert.equal(r.code, 0, r.stderr)
    const m = what.exec(r.stdout)
    assert.ok(m, r.stdout)
    return m[1]
  }
  const newConnector = async (name: string, ...extra: string[]) => created(await cli('connector', 'create', '--name', name, ...extra), /Created connector (\S+)/)
  const newDraft = async (cid: string, doc: object) => created(await cli('release', 'create', cid, '--file', file(`${cid}-draft.yaml`, toYaml(doc))), /Created draft (\S+)/)

  before(async () => {
    t = await startTestApp('sqlite')
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    dir = mkdtempSync(join(tmpdir(), 'plexus-cli-'))
    env = { PLEXUS_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, PLEXUS_ADMIN_TOKEN: ADMIN_TOKEN, PLEXUS_API_KEY: '' }
    const p = await run(['--json', 'partner', 'create', '--name', 'Fixture'], env)
    env.PLEXUS_API_KEY = p.json().apiKey
  })
  after(async () => {
    await t.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('the walkthrough: partner, connector, icon, 1.0 major, 1.1 minor, breaking minor refused, 2.0 major', async () => {
    const p = await run(['partner', 'create', '--name', 'Acme'], env)
    assert.equal(p.code, 0, p.stderr)
    assert.match(p.stdout, /^Created partner ptr_\S+ "Acme"$/m)
    assert.match(p.stdout, /shown only once/)
    const key = /^ {2}(\S+)$/m.exec(p.stdout)?.[1]
    assert.ok(key, p.stdout)
    const acme = { ...env, PLEXUS_API_KEY: key }
    const as = (...args: string[]) => run(args, acme)

    const cid = created(await as('connector', 'create', '--name', 'Pipeline', '--description', 'CRM', '--api-version', '3'), /^Created connector (\S+) "Pipeline"$/m)

    const png = makePng()
    const up = await as('connector', 'icon', cid, '--file', file('icon.png', png))
    assert.equal(up.code, 0, up.stderr)
    const down = await as('connector', 'icon', cid, '--out', join(dir, 'down.png'))
    assert.equal(down.code, 0, down.stderr)
    assert.ok(readFileSync(join(dir, 'down.png')).equals(png))
    const bad = await as('connector', 'icon', cid, '--file', file('small.png', makePng(200, 200)))
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /^error INVALID_ICON: .*400x400/m)

    const d1 = created(await as('release', 'create', cid, '--file', file('v1.yaml', toYaml({ settings: crmSettings(), definition: crmDefinition() }))), /Created draft (rel_\S+)/)
    const p1 = await as('release', 'push', cid, d1, '--major')
    assert.equal(p1.code, 0, p1.stderr)
    assert.equal(p1.stdout, `Pushed release ${d1} live as 1.0\n`)

    const d2 = created(await as('release', 'create', cid, '--from', 'live'), /Created draft (rel_\S+)/)
    const def2 = crmDefinition()
    def2.methods.push(createContactMethod() as never)
    const edit = await as('release', 'edit', cid, d2, '--file', file('v2.json', JSON.stringify({ settings: crmSettings(), definition: def2 })))
    assert.equal(edit.code, 0, edit.stderr)
    assert.match(edit.stdout, /Updated draft .* \(3 methods\)/)
    const additive = await as('release', 'diff', cid, d2)
    assert.equal(additive.code, 0, additive.stderr)
    assert.match(additive.stdout, /additive: push as minor/)
    assert.match(additive.stdout, /^ {2}additive {2}.*create-contact/m)
    const p2 = await as('release', 'push', cid, d2, '--minor')
    assert.equal(p2.code, 0, p2.stderr)
    assert.equal(p2.stdout, `Pushed release ${d2} live as 1.1\n`)

    const def3 = structuredClone(def2)
    def3.methods = def3.methods.filter((m) => m.id !== 'list-contacts')
    const d3 = created(await as('release', 'create', cid, '--file', file('v3.yaml', toYaml({ settings: crmSettings(), definition: def3 }))), /Created draft (rel_\S+)/)
    const diff = await as('release', 'diff', cid, d3, '--against', 'live')
    assert.equal(diff.code, 0, diff.stderr)
    assert.match(diff.stdout, /breaking: push as major/)
    assert.match(diff.stdout, /^ {2}BREAKING {2}.*list-contacts/m)

    const refused = await as('release', 'push', cid, d3, '--minor')
    assert.equal(refused.code, 1)
    assert.equal(refused.stdout, '')
    assert.match(refused.stderr, /^error BREAKING_MINOR: /)
    assert.match(refused.stderr, /^ {2}BREAKING {2}.*list-contacts/m)

    const p3 = await as('release', 'push', cid, d3, '--major')
    assert.equal(p3.code, 0, p3.stderr)
    assert.equal(p3.stdout, `Pushed release ${d3} live as 2.0\n`)

    const list = await as('--json', 'release', 'list', cid)
    assert.deepEqual(list.json().items.map((r: { state: string; version: string }) => [r.state, r.version]), [['deprecated', '1.0'], ['deprecated', '1.1'], ['live', '2.0']])
    const table = await as('release', 'list', cid)
    assert.match(table.stdout, /^ID +STATE +VERSION/)
    assert.match(table.stdout, new RegExp(`^${d3} +live +2\\.0 +Approved`, 'm'))
    const history = await as('connector', 'history', cid)
    assert.equal(history.code, 0, history.stderr)
    assert.equal(history.stdout.match(/pushed_(major|minor)/g)?.length, 3)

    const show = await as('release', 'show', cid, 'live')
    assert.equal(show.code, 0, show.stderr)
    assert.match(show.stdout, /^Version +2\.0$/m)
    assert.match(show.stdout, /^create-contact +Create Contact +POST \/contacts$/m)
    assert.doesNotMatch(show.stdout + history.stdout + table.stdout, new RegExp(key), 'the API key is never printed again')
  })

  test('--json prints the raw API JSON', async () => {
    const c = await cli('--json', 'connector', 'create', '--name', 'Jsonish', '--api-version', 'v1')
    assert.equal(c.code, 0, c.stderr)
    const cid = c.json().id
    assert.equal(c.json().apiVersion, 'v1')
    const listed = await cli('connector', 'list', '--json')
    assert.ok(listed.json().items.some((x: { id: string }) => x.id === cid), 'the global option works after the command too')
    const shown = await cli('--json', 'connector', 'show', cid)
    assert.equal(shown.json().name, 'Jsonish')
    const updated = await cli('--json', 'connector', 'update', cid, '--name', 'Jsonic', '--description', 'desc')
    assert.deepEqual([updated.json().name, updated.json().description], ['Jsonic', 'desc'])
    const draft = await cli('--json', 'release', 'create', cid)
    assert.equal(draft.json().state, 'draft')
    assert.equal((await cli('--json', 'release', 'show', cid, draft.json().id)).json().id, draft.json().id)
    assert.deepEqual((await cli('--json', 'release', 'delete', cid, draft.json().id)).json(), { id: draft.json().id, deleted: true })
    assert.deepEqual((await cli('--json', 'connector', 'delete', cid)).json(), { id: cid, deleted: true })
    const gone = await cli('connector', 'show', cid)
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /^error NOT_FOUND: /)
  })

  test('partner create with a plan; partner keys never shows a key', async () => {
    const p = await cli('--json', 'partner', 'create', '--name', 'Small', '--max-connectors', '3', '--no-custom-connectors')
    assert.equal(p.code, 0, p.stderr)
    assert.deepEqual(p.json().plan, { allowCustomConnectors: false, maxCustomConnectors: 3 })
    const keys = await run(['partner', 'keys'], { ...env, PLEXUS_API_KEY: p.json().apiKey })
    assert.equal(keys.code, 0, keys.stderr)
    assert.match(keys.stdout, /^ID +PREFIX +CREATED +REVOKED$/m)
    assert.ok(keys.stdout.includes(p.json().keyId))
    assert.ok(!keys.stdout.includes(p.json().apiKey))
    const wrong = await run(['partner', 'create', '--name', 'X'], { ...env, PLEXUS_ADMIN_TOKEN: 'nope' })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /^error UNAUTHORIZED: /)
  })

  test('push problems are listed one per line (422)', async () => {
    const cid = await newConnector('Broken')
    const rid = await newDraft(cid, { settings: { ...crmSettings(), postInstallTestAuthMethod: 'missing' }, definition: crmDefinition() })
    const r = await cli('release', 'push', cid, rid, '--major')
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^error VALIDATION_FAILED: /)
    assert.match(r.stderr, /^ {2}\/settings\/postInstallTestAuthMethod: .+/m)
  })

  test('lint prints errors and warnings with paths; exit 1 only when there are errors', async () => {
    const cid = await newConnector('Pipeline v3 API', '--api-version', 'v3')
    const rid = await newDraft(cid, { settings: { ...crmSettings(), postInstallTestAuthMethod: 'missing' }, definition: crmDefinition() })
    const r = await cli('release', 'lint', cid, rid)
    assert.equal(r.code, 1)
    assert.match(r.stdout, /^\d+ errors?, \d+ warnings?$/m)
    assert.match(r.stdout, /^error +\/settings\/postInstallTestAuthMethod: /m)
    assert.match(r.stdout, /^warning +\S*: .*\[NAME_HAS_API_VERSION\]$/m)
    const json = await cli('--json', 'release', 'lint', cid, rid)
    assert.ok(json.json().warnings.length > 0)

    const clean = await newConnector('Tidy', '--description', 'A tidy CRM', '--api-version', 'v3')
    const cleanRid = await newDraft(clean, { settings: crmSettings(), definition: crmDefinition() })
    const ok = await cli('release', 'lint', clean, cleanRid)
    assert.equal(ok.code, 0, ok.stdout)
    assert.match(ok.stdout, /^0 errors, /)
  })

  test('export as YAML and JSON; an export is a valid --file', async () => {
    const cid = await newConnector('Exported')
    const rid = await newDraft(cid, { settings: crmSettings(), definition: crmDefinition() })
    await cli('release', 'push', cid, rid, '--minor')
    const yaml = await cli('release', 'export', cid, 'live')
    assert.equal(yaml.code, 0, yaml.stderr)
    const doc = parseYaml(yaml.stdout)
    assert.deepEqual(doc.definition, crmDefinition())
    assert.equal(doc.release.version, '1.0')
    const out = join(dir, 'export.json')
    const json = await cli('release', 'export', cid, rid, '--format', 'json', '--out', out)
    assert.equal(json.code, 0, json.stderr)
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).definition, crmDefinition())
    const again = await cli('release', 'create', cid, '--file', out)
    assert.equal(again.code, 0, again.stderr)
    const same = await cli('release', 'diff', cid, created(again, /Created draft (\S+)/))
    assert.match(same.stdout, /no changes/)
  })

  test('release create --openapi imports a document', async () => {
    const cid = await newConnector('Petstore')
    const spec = toYaml({
      openapi: '3.0.3',
      info: { title: 'Pets', version: '1' },
      servers: [{ url: 'https://pets.example.com' }],
      paths: { '/pets': { get: { operationId: 'listPets', summary: 'List pets', responses: { 200: { description: 'ok' } } } } },
    })
    const r = await cli('release', 'create', cid, '--openapi', file('pets.yaml', spec))
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Created draft rel_\S+/)
    assert.match(r.stdout, /^Imported 1 method from the OpenAPI document/m)
  })

  test('release test sends {auth, parameters, fields, maxPages}', async () => {
    const fake = await startServer((_req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ ok: true, status: 200, records: [{ Email: 'a@example.com' }] }))
    })
    try {
      const r = await run(['release', 'test', 'con_1', 'live', 'list-contacts', '--auth', 'key=s3cret', '--param', 'Subdomain=acme', '--field', 'Email=a@b.c', '--field', 'Name=x=y', '--max-pages', '2'], { ...env, PLEXUS_URL: fake.url })
      assert.equal(r.code, 0, r.stderr)
      assert.equal(fake.requests[0].method, 'POST')
      assert.equal(fake.requests[0].url, '/v1/connectors/con_1/releases/live/methods/list-contacts/test')
      assert.equal(fake.requests[0].headers.authorization, `Bearer ${env.PLEXUS_API_KEY}`)
      assert.deepEqual(JSON.parse(fake.requests[0].body), { auth: { key: 's3cret' }, parameters: { Subdomain: 'acme' }, fields: { Email: 'a@b.c', Name: 'x=y' }, maxPages: 2 })
      assert.match(r.stdout, /Email: a@example.com/)
    } finally {
      await fake.close()
    }
    const bad = await cli('release', 'test', 'con_1', 'live', 'm', '--auth', 'novalue')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /key=value/)
  })

  test('an unreachable server exits 3 with a hint about PLEXUS_URL', async () => {
    const r = await run(['connector', 'list'], { ...env, PLEXUS_URL: `http://127.0.0.1:${await closedPort()}` })
    assert.equal(r.code, 3)
    assert.match(r.stderr, /^error UNREACHABLE: cannot reach the Plexus server at http:\/\/127\.0\.0\.1:\d+/)
    assert.match(r.stderr, /PLEXUS_URL/)
  })

  test('usage errors exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /unknown command 'nope'/],
      [['connector', 'create'], /required option '--name <name>' not specified/],
      [['release', 'push', 'con_1', 'rel_1'], /give --major or --minor/],
      [['release', 'push', 'con_1', 'rel_1', '--major', '--minor'], /cannot be used with/],
      [['release', 'create', 'con_1', '--file', 'x.yaml', '--from', 'live'], /cannot be used with/],
      [['release', 'create', 'con_1', '--file', join(dir, 'missing.yaml')], /cannot read .*missing\.yaml: ENOENT/],
      [['release', 'show', 'con_1'], /missing required argument 'rid'/],
      [['release', 'export', 'con_1', 'live', '--format', 'xml'], /Allowed choices are yaml, json/],
      [['partner', 'create', '--name', 'X', '--max-connectors', 'many'], /must be a whole number/],
      [['connector', 'update', 'con_1'], /nothing to update/],
      [['connector', 'icon', 'con_1'], /--file <png> to upload or --out <file>/],
    ]
    for (const [args, message] of cases) {
      const r = await cli(...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message, args.join(' '))
    }
    const noKey = await run(['connector', 'list'], { PLEXUS_URL: env.PLEXUS_URL })
    assert.equal(noKey.code, 2)
    assert.match(noKey.stderr, /PLEXUS_API_KEY/)
    const noAdmin = await run(['partner', 'create', '--name', 'X'], { PLEXUS_URL: env.PLEXUS_URL })
    assert.equal(noAdmin.code, 2)
    assert.match(noAdmin.stderr, /PLEXUS_ADMIN_TOKEN/)
    const help = await cli('release', '--help')
    assert.equal(help.code, 0)
    assert.match(help.stdout, /push \[options\] <cid> <rid>/)
  })

  test('migrate creates the schema of PLEXUS_DATABASE_URL (and is idempotent)', async () => {
    const db = join(dir, 'migrated', 'plexus.db')
    for (let i = 0; i < 2; i++) {
      const r = await run(['migrate'], { PLEXUS_DATABASE_URL: `sqlite:${db}` })
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^Migrated sqlite:.*plexus\.db to the latest schema$/m)
    }
    assert.ok(existsSync(db))
  })

  test('bin/plexus.js runs as a real process', async () => {
    const exec = promisify(execFile)
    const help = await exec(process.execPath, [bin, '--help'])
    assert.match(help.stdout, /^Usage: plexus \[options\] \[command\]/)
    for (const cmd of ['serve', 'migrate', 'partner', 'connector', 'release']) assert.match(help.stdout, new RegExp(`^ {2}${cmd}\\b`, 'm'))
    const list = await exec(process.execPath, [bin, 'connector', 'list'], { env: { ...process.env, ...env } })
    assert.match(list.stdout, /^ID +NAME/)
    await assert.rejects(exec(process.execPath, [bin, 'nope']), (err: { code: number; stderr: string }) => err.code === 2 && /unknown command/.test(err.stderr))
  })
})

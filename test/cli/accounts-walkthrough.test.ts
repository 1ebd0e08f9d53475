// The README "Accounts" walkthrough, step by step, against the demo APIs (scripts/demo-apis.ts) and
// the example releases in docs/examples: what a newcomer runs is what CI runs.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { DEMO, startDemoApis } from '../../scripts/demo-apis.js'
import { main } from '../../src/cli/index.js'
import { oauthRelease, saasRelease } from '../helpers/account-definitions.js'
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js'

const example = (name: string) => fileURLToPath(new URL(`../../docs/examples/${name}`, import.meta.url))

async function run(args: string[], env: Record<string, string>) {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: { write: (s) => (stdout += typeof s === 'string' ? s : Buffer.from(s).toString()) }, stderr: { write: (s) => (stderr += s) }, env })
  return { code, stdout, stderr }
}

describe('README: Accounts walkthrough', () => {
  let t: TestApp
  let demo: Awaited<ReturnType<typeof startDemoApis>>
  let env: Record<string, string>
  let server: string
  const cli = async (...args: string[]) => {
    const r = await run(args, env)
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const id = (text: string, re: RegExp) => {
    const m = re.exec(text)
    assert.ok(m, text)
    return m[1]
  }

  before(async () => {
    t = await startTestApp('sqlite', { config: { allowPrivateNetwork: true } })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    server = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`
    demo = await startDemoApis({ saas: 0, oauth: 0 })
    env = { PLEXUS_URL: server, PLEXUS_ADMIN_TOKEN: ADMIN_TOKEN, PLEXUS_API_KEY: '' }
    env.PLEXUS_API_KEY = id(await cli('partner', 'create', '--name', 'Acme Software'), /^ {2}(plx_\S+)$/m)
  })
  after(async () => {
    await demo.close()
    await t.close()
  })

  test('the example releases are the ones the tests use', () => {
    assert.deepEqual(parseYaml(readFileSync(example('demo-saas.yaml'), 'utf8')), saasRelease())
    assert.deepEqual(parseYaml(readFileSync(example('demo-oauth.yaml'), 'utf8')), oauthRelease())
  })

  test('API key: install, see test-auth and looked-up properties, call a paged method', async () => {
    const cid = id(await cli('connector', 'create', '--name', 'Demo SaaS'), /Created connector (\S+)/)
    const rid = id(await cli('release', 'create', cid, '--file', example('demo-saas.yaml')), /Created draft (\S+)/)
    await cli('release', 'push', cid, rid, '--major')
    const aid = id(await cli('account', 'create', '--name', 'Globex', '--external-id', 'globex-1', '--timezone', 'Europe/London'), /Created account (\S+)/)
    const out = await cli('account', 'connector', 'install', aid, cid, '--auth', `ApiKey=${DEMO.apiKey}`, '--property', `ApiBase=${demo.saas.url}`)
    const acid = id(out, /as (acn_\S+)/)
    assert.match(out, /^Authenticated +yes$/m)
    assert.match(out, /^Auth values +ApiKey=\*\*\*\*cdef$/m)
    assert.match(out, new RegExp(`^Properties +ApiBase=${demo.saas.url.replace(/[.]/g, '\\.')}, TenantId=tenant-42, SessionToken=\\*\\*\\*\\*\\w{4}$`, 'm'))
    assert.match(out, /^Test auth get-me: ok \(HTTP 200\)$/m)
    assert.match(out, /^Property lookup get-account: ok \(HTTP 200\); set TenantId, SessionToken$/m)

    assert.match(await cli('account', 'connector', 'call', aid, acid, 'list-contacts'), /^2 records from 1 page\nmore: --cursor \S+$/m)
    assert.match(await cli('account', 'connector', 'call', aid, acid, 'list-contacts', '--all'), /^5 records from \d pages$/m)
    assert.match(await cli('account', 'connector', 'lookup', aid, acid, 'projects', '--search', 'a'), /^p1 +Apollo$/m)
    const wrong = await run(['account', 'connector', 'auth', aid, acid, '--auth', 'ApiKey=wrong'], env)
    assert.equal(wrong.code, 1)
    assert.match(wrong.stdout, /^Authenticated +no — testAuth HTTP 401: /m)
    assert.match(await cli('account', 'connector', 'auth', aid, acid, '--auth', `ApiKey=${DEMO.apiKey}`), /^Authenticated +yes$/m)
  })

  test('OAuth2 against the local provider: authorize in the "browser", then call', async () => {
    const cid = id(await cli('connector', 'create', '--name', 'Demo OAuth'), /Created connector (\S+)/)
    const rid = id(await cli('release', 'create', cid, '--file', example('demo-oauth.yaml')), /Created draft (\S+)/)
    await cli('release', 'push', cid, rid, '--major')
    const props = await fetch(`${server}/v1/connectors/${cid}/properties`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${env.PLEXUS_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { ClientId: DEMO.client.id, ClientSecret: DEMO.client.secret } }),
    })
    assert.equal(props.status, 200)
    const aid = id(await cli('account', 'create', '--name', 'Initech'), /Created account (\S+)/)
    const installed = await cli('account', 'connector', 'install', aid, cid, '--property', `ApiBase=${demo.oauth.url}`)
    const acid = id(installed, /as (acn_\S+)/)
    assert.match(installed, /^Authenticated +no — authorize with `plexus account connector oauth-start`$/m)

    const started = await cli('account', 'connector', 'oauth-start', aid, acid)
    const url = started.split('\n')[0]
    assert.ok(url.startsWith(`${demo.oauth.url}/authorize?`), started)
    // `curl -sL <url>`: the provider redirects to Plexus's callback, which answers JSON (no return URL set).
    const landed = await fetch(url)
    assert.equal(landed.status, 200)
    assert.deepEqual(await landed.json(), { status: 'success', accountId: aid, accountConnectorId: acid, authenticated: true })

    const shown = await cli('account', 'connector', 'show', aid, acid)
    assert.match(shown, /^Authenticated +yes$/m)
    assert.match(shown, /^Token expires +\d{4}-/m)
    assert.match(await cli('account', 'connector', 'call', aid, acid, 'list-contacts', '--all'), /^5 records from \d pages$/m)
  })
})

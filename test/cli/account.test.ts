import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { main } from '../../src/cli/index.js'
import { saasApi, type SaasApi } from '../helpers/account-apis.js'
import { saasRelease } from '../helpers/account-definitions.js'
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/app.js'

const API_KEY = 'sk_cli_0123456789abcdef'

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

describe('plexus account CLI', () => {
  let t: TestApp
  let api: SaasApi
  let env: Record<string, string>
  let cid: string
  const cli = (...args: string[]) => run(args, env)
  const ok = (r: Run) => {
    assert.equal(r.code, 0, r.stderr)
    return r
  }

  before(async () => {
    t = await startTestApp('sqlite', { config: { allowPrivateNetwork: true } })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    api = await saasApi((req) => req.headers['x-api-key'] === API_KEY)
    env = { PLEXUS_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, PLEXUS_ADMIN_TOKEN: ADMIN_TOKEN, PLEXUS_API_KEY: '' }
    env.PLEXUS_API_KEY = (await run(['--json', 'partner', 'create', '--name', 'CLI partner'], env)).json().apiKey
    cid = (await t.call('POST', '/v1/connectors', { key: env.PLEXUS_API_KEY, body: { name: 'SaaS' } })).json().id
    const draft = await t.call('POST', `/v1/connectors/${cid}/releases`, { key: env.PLEXUS_API_KEY, body: saasRelease() })
    await t.call('POST', `/v1/connectors/${cid}/releases/${draft.json().id}/push`, { key: env.PLEXUS_API_KEY, body: { kind: 'major' } })
  })
  after(async () => {
    await api.close()
    await t.close()
  })

  test('account create, list, show, update and delete', async () => {
    const created = ok(await cli('account', 'create', '--name', 'Globex', '--external-id', 'g-1', '--timezone', 'Europe/Berlin'))
    const aid = /Created account (\S+) "Globex"/.exec(created.stdout)?.[1]
    assert.ok(aid, created.stdout)
    ok(await cli('account', 'create', '--name', 'Initech'))
    const list = ok(await cli('account', 'list'))
    assert.match(list.stdout, /^ID +NAME +EXTERNAL ID +TIME ZONE +PARENT$/m)
    assert.match(list.stdout, /Globex +g-1 +Europe\/Berlin/)
    assert.deepEqual(ok(await cli('--json', 'account', 'list', '--external-id', 'g-1')).json().items.map((a: { id: string }) => a.id), [aid])
    assert.match(ok(await cli('account', 'show', aid)).stdout, /^Time zone +Europe\/Berlin$/m)
    const updated = ok(await cli('--json', 'account', 'update', aid, '--timezone', 'UTC', '--external-id', ''))
    assert.equal(updated.json().timezone, 'UTC')
    assert.equal(updated.json().externalId, null)
    const dup = await cli('account', 'create', '--name', 'Bad', '--timezone', 'Moon/Base')
    assert.equal(dup.code, 1)
    assert.match(dup.stderr, /^error BAD_REQUEST: timezone must be an IANA time zone/)
    assert.match(ok(await cli('account', 'delete', aid)).stdout, /Deleted account/)
    assert.equal((await cli('account', 'show', aid)).code, 1)
    const nothing = await cli('account', 'update', 'acc_x')
    assert.equal(nothing.code, 2)
  })

  test('account connector install, call, lookup, auth, test-auth and deauthenticate', async () => {
    const aid = (await run(['--json', 'account', 'create', '--name', 'Umbrella'], env)).json().id
    const installed = ok(await cli('account', 'connector', 'install', aid, cid, '--auth', `ApiKey=${API_KEY}`, '--property', `ApiBase=${api.url}`))
    const acid = /as (acn_\S+)/.exec(installed.stdout)?.[1]
    assert.ok(acid, installed.stdout)
    assert.match(installed.stdout, /^Authenticated +yes$/m, installed.stdout)
    assert.match(installed.stdout, /^Auth values +ApiKey=\*\*\*\*cdef$/m)
    assert.match(installed.stdout, /^Test auth get-me: ok \(HTTP 200\)$/m)
    assert.match(installed.stdout, /^Property lookup get-account: ok \(HTTP 200\); set (TenantId, SessionToken|SessionToken, TenantId)$/m)
    assert.match(installed.stdout, /TenantId=tenant-42/)
    assert.ok(!installed.stdout.includes(API_KEY) && !installed.stdout.includes(api.sessionToken))

    const one = ok(await cli('--json', 'account', 'connector', 'call', aid, acid, 'list-contacts'))
    assert.equal(one.json().records.length, 2)
    assert.ok(one.json().nextCursor)
    const all = ok(await cli('account', 'connector', 'call', aid, acid, 'list-contacts', '--all'))
    // One page per call: each resumed call knows only its own page sizes, so the short third page
    // is not taken as the end and an empty fourth page ends the data.
    assert.match(all.stdout, /^5 records from 4 pages$/m)
    assert.match(all.stdout, /Email: person5@example.com/)
    const next = ok(await cli('--json', 'account', 'connector', 'call', aid, acid, 'list-contacts', '--cursor', one.json().nextCursor, '--pages', '5'))
    assert.deepEqual(next.json().records.map((r: { ContactId: string }) => r.ContactId), ['c3', 'c4', 'c5'])

    const lookup = ok(await cli('account', 'connector', 'lookup', aid, acid, 'projects', '--search', 'a'))
    assert.match(lookup.stdout, /^VALUE +LABEL$/m)
    assert.match(lookup.stdout, /^p1 +Apollo$/m)
    assert.doesNotMatch(lookup.stdout, /Gemini/)

    assert.match(ok(await cli('account', 'connector', 'list', aid)).stdout, new RegExp(`^${acid} +${cid} +\\S+ +apiKey +yes$`, 'm'))
    const wrong = await cli('account', 'connector', 'auth', aid, acid, '--auth', 'ApiKey=sk_cli_wrong_wrong_wrong')
    assert.equal(wrong.code, 1, 'a failed test-auth exits 1')
    assert.match(wrong.stdout, /^Authenticated +no — testAuth HTTP 401: /m)
    assert.equal((await cli('account', 'connector', 'test-auth', aid, acid)).code, 1)
    const call = await cli('account', 'connector', 'call', aid, acid, 'list-contacts')
    assert.equal(call.code, 1)
    assert.match(call.stderr, /^error NOT_AUTHENTICATED: /)
    ok(await cli('account', 'connector', 'auth', aid, acid, '--auth', `ApiKey=${API_KEY}`))
    assert.match(ok(await cli('account', 'connector', 'test-auth', aid, acid)).stdout, /^Test auth get-me: ok/m)
    assert.match(ok(await cli('account', 'connector', 'deauthenticate', aid, acid)).stdout, /Deauthenticated/)
    assert.match(ok(await cli('account', 'connector', 'show', aid, acid)).stdout, /^Authenticated +no$/m)
    assert.match(ok(await cli('account', 'connector', 'delete', aid, acid)).stdout, /Deleted/)

    const usage = await cli('account', 'connector', 'install', aid)
    assert.equal(usage.code, 2)
    const badPair = await cli('account', 'connector', 'install', aid, cid, '--auth', 'novalue')
    assert.equal(badPair.code, 2)
    assert.match(badPair.stderr, /key=value/)
  })
})

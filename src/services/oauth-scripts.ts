// The OAuth2 script events of a release (SPEC §4: before_oauth2_authorise, before_oauth2_token,
// after_oauth2_token, before_oauth2_refresh, after_oauth2_refresh), run by the scripting engine
// around the authorization-code flow and the runtime's token requests. The sandbox is only started
// for releases whose connector script handles one of these events.
import { AuthError } from '../runtime/errors.js'
import type { OAuth2ScriptHooks } from '../runtime/auth/authorization-code.js'
import { fail } from '../errors/errors.js'
import type { ScriptRunner } from '../scripting/index.js'

const OAUTH_EVENT = /\b(before_oauth2_authorise|before_oauth2_token|after_oauth2_token|before_oauth2_refresh|after_oauth2_refresh)\b/

export interface OAuthScriptContext {
  /** The release's connector-level script. */
  script: string | undefined
  partnerId: string
  accountId: string
  externalAccountId: string | null
}

/** Hooks that run the release's OAuth2 script events, or undefined when it has none. */
export async function oauthScriptHooks(runner: () => Promise<ScriptRunner>, ctx: OAuthScriptContext): Promise<OAuth2ScriptHooks | undefined> {
  if (!ctx.script || !OAUTH_EVENT.test(ctx.script)) return undefined
  const { EventDispatcher } = await import('../scripting/index.js')
  const dispatcher = new EventDispatcher(await runner(), {
    sources: { connector: ctx.script },
    isolationKey: `${ctx.partnerId}/${ctx.accountId}`,
    ids: { accountId: ctx.accountId, externalAccountId: ctx.externalAccountId },
  })
  const failed = (event: string, result: { kind: string; error?: { message: string }; message?: string }) =>
    result.kind === 'error' ? `the ${event} script failed: ${result.error?.message ?? 'error'}` : result.kind === 'false' ? `the ${event} script returned false` : undefined
  return {
    async beforeAuthorise(url) {
      if (!dispatcher.handles('before_oauth2_authorise')) return url
      const out = await dispatcher.beforeOAuth2Authorise(url)
      const why = failed('before_oauth2_authorise', out.result)
      if (why) throw fail('CONFLICT', why)
      return out.url
    },
    async beforeToken(request, kind) {
      const event = kind === 'token' ? 'before_oauth2_token' : 'before_oauth2_refresh'
      if (!dispatcher.handles(event)) return request
      const out = await dispatcher.beforeOAuth2Request(kind, request)
      const why = failed(event, out.result)
      if (why) throw new AuthError(why)
      const body: Record<string, string> = {}
      if (out.body && typeof out.body === 'object') {
        for (const [k, v] of Object.entries(out.body)) if (v !== undefined && v !== null) body[k] = typeof v === 'object' ? JSON.stringify(v) : String(v)
      }
      return { headers: out.headers, body }
    },
    async afterToken(response, kind) {
      const event = kind === 'token' ? 'after_oauth2_token' : 'after_oauth2_refresh'
      if (!dispatcher.handles(event)) return response
      const out = await dispatcher.afterOAuth2Response(kind, response)
      const why = failed(event, out.result)
      if (why) throw new AuthError(why)
      return out.body && typeof out.body === 'object' && !Array.isArray(out.body) ? (out.body as Record<string, unknown>) : response
    },
  }
}

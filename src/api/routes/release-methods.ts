// "Test a method" (SPEC §8, issue 3): runs one method of any release (drafts included) against the
// real API with inline auth values and inputs, and returns every request (redacted), response,
// record, warning and timing. Nothing is stored.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { testMethod } from '../../runtime/test-method.js'
import type { HttpSender } from '../../runtime/exchange.js'
import type { ReleaseScriptSources } from '../../runtime/action-scripts.js'
import { createActionScripts } from '../../scripting/action-scripts.js'
import { MemoryKeyValueStore } from '../../scripting/script-host.js'
import type { ScriptRunner } from '../../scripting/script-runner.js'
import type { ReleaseService } from '../../services/releases.js'
import { principal } from '../plugins/auth.js'
import { IdParams } from '../schemas.js'

const Values = (description: string) => Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 10_000 }), { description })

export const releaseMethodRoutes: FastifyPluginAsyncTypebox<{ releases: ReleaseService; http: HttpSender; scripts?: () => Promise<ScriptRunner> }> = async (app, { releases, http, scripts }) => {
  app.post('/:mid/test', {
    schema: {
      tags: ['releases'],
      summary: 'Call one method of a release against the real API with the given auth and inputs',
      description: 'Works on drafts. Secrets are redacted from the requests shown; response bodies are cut to 4 KB; at most `maxPages` pages (default 10).',
      params: IdParams('cid', 'rid', 'mid'),
      body: Type.Object(
        {
          authId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          auth: Type.Optional(Values('Auth values (ApiKey, Username, Password, authFields keys, ClientId, ClientSecret, AccessToken…).')),
          properties: Type.Optional(Values('Account and partner property values.')),
          parameters: Type.Optional(Values('Parameter values by name.')),
          fields: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Request field values by system name.' })),
          maxPages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        },
        { additionalProperties: false },
      ),
    },
  }, async (req) => {
    const partnerId = principal(req).partnerId
    const release = await releases.get(partnerId, req.params.cid, req.params.rid)
    const { auth = {}, ...rest } = req.body
    // The release's connector- and method-level scripts run as in a call (script_execution_context
    // CONNECTOR_TESTING), with storage that lives for this test only.
    const factory = scripts
      ? ({ scriptParameters, ...sources }: ReleaseScriptSources) =>
          createActionScripts(scripts, { sources, scriptParameters, isolationKey: `${partnerId}/test`, context: 'CONNECTOR_TESTING', http, storage: { connector: new MemoryKeyValueStore(), cycle: new MemoryKeyValueStore() }, mergefields: { ...(rest.parameters ?? {}), ...(rest.fields ?? {}) } })
      : undefined
    return testMethod(release, req.params.mid, { ...rest, auth }, http, factory ? { scripts: factory } : {})
  })
}

// Release upgrades (SPEC §7): impact of a release, and upgrades of a template, a cycle or everything
// on a connector, each with a dry run.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { fail } from '../../errors/errors.js'
import type { UpgradeService } from '../../services/upgrades.js'
import { principal } from '../plugins/auth.js'
import { IdParams } from '../schemas.js'

const dryRun = Type.Optional(Type.Boolean({ description: 'report what would change; change nothing (default false)' }))
const force = Type.Optional(Type.Boolean({ description: 'cycles: upgrade even when the cycle would be left unrunnable; it is then paused with the reason' }))

export const upgradeRoutes: FastifyPluginAsyncTypebox<{ upgrades: UpgradeService }> = async (app, { upgrades }) => {
  const tags = ['upgrades']

  app.get('/connectors/:cid/releases/:rid/impact', {
    schema: { tags, summary: 'Which templates, accounts, cycles and steps use the connector, on which release, and what moving them to this release would drop or need', params: IdParams('cid', 'rid') },
  }, async (req) => upgrades.impact(principal(req).partnerId, req.params.cid, req.params.rid))

  app.post('/templates/:tid/upgrade', {
    schema: { tags, summary: "Move the template's steps to the live release of their connectors", params: IdParams('tid'), body: Type.Optional(Type.Object({ dryRun }, { additionalProperties: false })) },
  }, async (req) => {
    const report = await upgrades.upgradeTemplate(principal(req), req.params.tid, req.body ?? {})
    if (!report.dryRun && !report.upgraded && report.problems.length) throw fail('UPGRADE_BLOCKED', `the template cannot be upgraded: ${report.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, report)
    return report
  })

  app.post('/accounts/:aid/cycles/:yid/upgrade', {
    schema: { tags, summary: "Move the cycle's steps to the live release of their connectors", params: IdParams('aid', 'yid'), body: Type.Optional(Type.Object({ dryRun, force }, { additionalProperties: false })) },
  }, async (req) => {
    const report = await upgrades.upgradeCycle(principal(req), req.params.aid, req.params.yid, req.body ?? {})
    if (!report.dryRun && !report.upgraded && report.reason) throw fail('UPGRADE_BLOCKED', `the cycle cannot be upgraded: ${report.reason}`, report)
    return report
  })

  app.post('/connectors/:cid/upgrade', {
    schema: {
      tags,
      summary: "Upgrade every template and cycle of the partner on the connector to its live release; blocked ones are reported, not fatal",
      params: IdParams('cid'),
      body: Type.Optional(Type.Object({ dryRun, force, scope: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('templates'), Type.Literal('cycles')], { description: 'default all' })) }, { additionalProperties: false })),
    },
  }, async (req) => upgrades.upgradeConnector(principal(req), req.params.cid, req.body ?? {}))
}

// Release upgrades (SPEC §7): impact of a release, and upgrades of one step, a template, a cycle or
// everything on a connector, each with a dry run.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { fail } from '../../errors/errors.js'
import type { StepReport, UpgradeService } from '../../services/upgrades.js'
import { principal } from '../plugins/auth.js'
import { IdParams } from '../schemas.js'

const dryRun = Type.Optional(Type.Boolean({ description: 'report what would change; change nothing (default false)' }))
const force = Type.Optional(Type.Boolean({ description: 'cycles: upgrade even when the cycle would be left unrunnable; it is then paused with the reason' }))

/** A single-step upgrade that did not happen: 409 with the report, unless there was nothing to do. */
function blockedStep(steps: StepReport[], reasons: string[], report: unknown, what: string): void {
  const step = steps[0]
  if (!step) return // a tool step, or already on the live release: nothing to upgrade
  if (step.outcome === 'migrationFailed' && step.migration && !step.migration.ok) reasons = [step.migration.error, ...reasons]
  if (step.outcome === 'methodRemoved') reasons = [step.dropped[0]?.reason ?? 'the method was removed', ...reasons]
  throw fail('UPGRADE_BLOCKED', `the ${what} cannot be upgraded: ${reasons.join('; ') || step.outcome}`, report)
}

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

  app.post('/templates/:tid/steps/:key/upgrade', {
    schema: { tags, summary: "Move one step of the template to the live release of its connector (the template is checked whole)", params: IdParams('tid', 'key'), body: Type.Optional(Type.Object({ dryRun }, { additionalProperties: false })) },
  }, async (req) => {
    const report = await upgrades.upgradeTemplateStep(principal(req), req.params.tid, req.params.key, req.body ?? {})
    if (!report.dryRun && !report.upgraded) blockedStep(report.steps, report.problems.map((p) => `${p.path}: ${p.message}`), report, 'template step')
    return report
  })

  app.post('/accounts/:aid/cycles/:yid/steps/:key/upgrade', {
    schema: { tags, summary: "Move one step of the cycle to the live release of its connector", params: IdParams('aid', 'yid', 'key'), body: Type.Optional(Type.Object({ dryRun, force }, { additionalProperties: false })) },
  }, async (req) => {
    const report = await upgrades.upgradeCycleStep(principal(req), req.params.aid, req.params.yid, req.params.key, req.body ?? {})
    if (!report.dryRun && !report.upgraded) blockedStep(report.steps, report.reason ? [report.reason] : [], report, 'cycle step')
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

// Validation entry points. A draft save needs a well-formed release (shape only: drafts may be
// incomplete); a push needs a complete, consistent one (shape + every rule in ./rules/).
import { dedupeProblems, type Problem } from './problems.js'
import { authenticationRules } from './rules/authentications.js'
import { releaseView, type Rule } from './rules/context.js'
import { methodRules } from './rules/methods.js'
import { parameterRules } from './rules/parameters.js'
import { pagingRules } from './rules/paging.js'
import { referenceRules } from './rules/references.js'
import { templateRules } from './rules/templates.js'
import { checkShape } from './shape.js'

export { checkShape, type ShapeName } from './shape.js'

/** Shape problems of a definition (absent or null = empty), paths under `/definition`. */
export const checkDefinitionShape = (definition: unknown): Problem[] => checkShape('definition', definition ?? {}, '/definition')

/** Shape problems of release settings (absent or null = empty), paths under `/settings`. */
export const checkSettingsShape = (settings: unknown): Problem[] => checkShape('settings', settings ?? {}, '/settings')

/** The push-time rules, in reporting order (script compilation is checked elsewhere). */
export const PUSH_RULES: readonly Rule[] = [methodRules, authenticationRules, parameterRules, referenceRules, pagingRules, templateRules]

/** Every problem that prevents a push: shape first, then semantics, each reported once. */
export function checkReleaseForPush(release: { settings?: unknown; definition?: unknown }): Problem[] {
  const view = releaseView(release.settings, release.definition)
  return dedupeProblems([
    ...checkSettingsShape(release.settings),
    ...checkDefinitionShape(release.definition),
    ...PUSH_RULES.flatMap((rule) => rule(view)),
  ])
}

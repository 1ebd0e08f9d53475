// Lint (SPEC §1, seed "Recommended Standards"): the push errors plus warnings for the
// conventions the seed recommends. Warnings never block a push; each has a stable code so UIs and
// CI can filter them.
import { at, type Problem } from '../definition/problems.js'
import { items, obj, str, type Item } from '../definition/rules/context.js'
import { checkReleaseForPush } from '../definition/validate.js'
import { isPagingVariable, templateVariables } from '../definition/variables.js'

export type LintIssue = Problem & { code: string }

/** Every warning code lintRelease can emit. */
export const LINT_CODES = {
  NAME_HAS_API_VERSION: 'The connector name should not include the API version (put it in apiVersion).',
  MISSING_DESCRIPTION: 'The connector has no description (take it from the product website).',
  MISSING_ICON: 'Neither the connector nor the release has an icon (a 400×400 PNG).',
  METHOD_NAME_CONVENTION: 'Method names start with Get, List, Create, Update, Delete or Search, then a noun.',
  METHOD_MISSING_CATEGORY: 'Methods are grouped by category in the UI.',
  METHOD_MISSING_DESCRIPTION: 'Methods should say what they do.',
  DESCRIPTION_TOO_LONG: 'Field and parameter descriptions should be at most 100 characters.',
  PAGING_VARIABLES_WITHOUT_PAGING: 'A method uses PAGE_* variables but inbound paging is off for it, so only the first page is read.',
} as const

export type LintCode = keyof typeof LINT_CODES

export interface LintInput {
  connector: { name: string; description?: string | null; apiVersion?: string | null; icon?: { present: boolean } }
  release: { settings?: unknown; definition?: unknown; icon?: { present: boolean } }
}

export function lintRelease(input: LintInput): { errors: Problem[]; warnings: LintIssue[] } {
  const { connector, release } = input
  const errors = checkReleaseForPush({ settings: release.settings, definition: release.definition })
  const warnings = [...connectorWarnings(connector, release), ...methodWarnings(release.settings, release.definition)]
  return { errors, warnings }
}

const warn = (code: LintCode, path: string, message: string): LintIssue => ({ code, path, message })

const VERSION_TOKEN = /\bv\d+(\.\d+)?\b/i
const METHOD_NAME = /^(Get|List|Create|Update|Delete|Search)\s+\S/
const MAX_DESCRIPTION = 100

function connectorWarnings(connector: LintInput['connector'], release: LintInput['release']): LintIssue[] {
  const out: LintIssue[] = []
  const name = connector.name ?? ''
  const apiVersion = connector.apiVersion?.trim()
  const hasVersion = (apiVersion && name.toLowerCase().includes(apiVersion.toLowerCase())) || VERSION_TOKEN.test(name)
  if (hasVersion) out.push(warn('NAME_HAS_API_VERSION', '/connector/name', `name should not include the API version ("${name}"); keep the version in apiVersion`))
  if (!connector.description?.trim()) out.push(warn('MISSING_DESCRIPTION', '/connector/description', 'the connector has no description; take one from the product website'))
  if (!connector.icon?.present && !release.icon?.present) out.push(warn('MISSING_ICON', '/connector/icon', 'neither the connector nor the release has an icon (a 400x400 PNG)'))
  return out
}

function methodWarnings(settings: unknown, definition: unknown): LintIssue[] {
  const def = obj(definition) ?? {}
  const out: LintIssue[] = [...longDescriptions(items<Record<string, unknown>>(def.parameters, '/definition/parameters'))]
  for (const { value: m, path } of items<Record<string, unknown>>(def.methods, '/definition/methods')) {
    const name = str(m.name) ?? ''
    // A webhook is named after its event ("Contact Created"), not a verb.
    if (m.type !== 'webhook' && !METHOD_NAME.test(name)) {
      out.push(warn('METHOD_NAME_CONVENTION', at(path, 'name'), `method name "${name}" should start with Get, List, Create, Update, Delete or Search followed by a noun`))
    }
    if (!str(m.category)?.trim()) out.push(warn('METHOD_MISSING_CATEGORY', at(path, 'category'), `method "${name}" has no category`))
    if (!str(m.description)?.trim()) out.push(warn('METHOD_MISSING_DESCRIPTION', at(path, 'description'), `method "${name}" has no description`))
    out.push(
      ...longDescriptions([
        ...items<Record<string, unknown>>(m.parameters, at(path, 'parameters')),
        ...items<Record<string, unknown>>(obj(m.request)?.fields, at(path, 'request', 'fields')),
        ...items<Record<string, unknown>>(obj(m.response)?.fields, at(path, 'response', 'fields')),
      ]),
    )
    out.push(...pagingVariablesWithoutPaging(settings, def, m, path, name))
  }
  return out
}

function longDescriptions(list: Item<Record<string, unknown>>[]): LintIssue[] {
  return list.flatMap(({ value, path }) => {
    const description = str(value.description)
    if (!description || description.length <= MAX_DESCRIPTION) return []
    const what = value.field !== undefined ? `field "${value.field}"` : `parameter "${value.name}"`
    return [warn('DESCRIPTION_TOO_LONG', at(path, 'description'), `description of ${what} is ${description.length} characters; keep it to ${MAX_DESCRIPTION}`)]
  })
}

/** Paging variables do nothing unless inbound paging is on: the method override, else the release. */
function pagingVariablesWithoutPaging(settings: unknown, def: Record<string, unknown>, m: Record<string, unknown>, path: string, name: string): LintIssue[] {
  const templates = items<Record<string, unknown>>(m.parameters, '').map((p) => str(p.value.value))
  if (!templates.some((t) => t !== undefined && templateVariables(t).some(isPagingVariable))) return []
  const inbound = obj(m.paging)?.inbound ?? obj(def.paging)?.inbound ?? obj(settings)?.inboundPaging
  if (inbound === true) return []
  return [warn('PAGING_VARIABLES_WITHOUT_PAGING', at(path, 'paging', 'inbound'), `method "${name}" uses paging variables but inbound paging is off for it (settings.inboundPaging or paging.inbound)`)]
}

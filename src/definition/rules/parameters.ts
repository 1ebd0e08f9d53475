// Parameters: unique connector-level names, fixed values, and what `sensitive` can mean.
import { at, type Problem } from '../problems.js'
import { isIgnoreParameterValue } from '../variables.js'
import { duplicates, str, type Item, type ReleaseView, type Rule } from './context.js'
import type { Parameter } from '../schema.js'

export const parameterRules: Rule = (view) => [
  ...duplicates(view.parameters, (p) => p.name, 'name', 'parameter name'),
  ...[...view.parameters, ...view.methods.flatMap((m) => m.parameters)].flatMap(fixedScope),
  ...ignoreMarkers(view),
]

/** `{{IGNORE_PARAMETER}}` removes an inherited connector parameter: only a method can, only an existing one. */
function ignoreMarkers(view: ReleaseView): Problem[] {
  const marked = (list: Item<Parameter>[]) => list.filter((p) => isIgnoreParameterValue(str(p.value.value) ?? ''))
  const connectorNames = new Set(view.parameters.map((p) => p.value.name))
  return [
    ...marked(view.parameters).map((p) => ({ path: at(p.path, 'value'), message: 'IGNORE_PARAMETER only applies to a method parameter, to drop the connector parameter of the same name' })),
    ...view.methods.flatMap((m) => marked(m.parameters)).flatMap((p) =>
      connectorNames.has(p.value.name) ? [] : [{ path: at(p.path, 'value'), message: `IGNORE_PARAMETER: there is no connector parameter "${p.value.name}" to ignore` }],
    ),
  ]
}

/** A fixed parameter's value is written in the definition: it must exist and cannot be a secret. */
function fixedScope({ value: p, path }: Item<Parameter>): Problem[] {
  if (p.scope !== 'fixed') return []
  const out: Problem[] = []
  if (p.value === undefined) out.push({ path: at(path, 'value'), message: 'required when scope is fixed' })
  if (p.sensitive === true) {
    out.push({ path: at(path, 'sensitive'), message: 'a fixed parameter cannot be sensitive: its value is part of the definition (use scope account or partner for secrets)' })
  }
  return out
}

// Parameters compiled once: the effective list of a method (connector level + method level) and,
// per parameter, a resolver that finds its value for a call.
import { compilePath } from './path.js';
import type { CompiledPath } from './path.js';
import { compileTemplate } from './template.js';
import type { CompiledTemplate, TemplateVars } from './template.js';
import { MethodInputError } from './errors.js';
import { isPagingVariable } from '../definition/variables.js';
import type { Parameter } from '../definition/schema.js';

export interface ParameterInput {
  /** Step (or test) parameter values by name. */
  parameters: Readonly<Record<string, string>>;
  /** Account and partner property values by name. */
  properties: Readonly<Record<string, string>>;
}

export interface CompiledParameter {
  readonly name: string;
  readonly target: Parameter['target'];
  /** Header name, query name, body path or response path. */
  readonly targetName: string;
  readonly bodyPath?: CompiledPath;
  readonly sensitive: boolean;
  /** The value uses PAGE_* variables: resolved for every page, omitted when empty. */
  readonly paging: boolean;
  /** The value is exactly `{{PAGE_NUMBER}}`/`{{PAGE_OFFSET}}`/`{{PAGE_SIZE}}`: a number in JSON bodies. */
  readonly numeric: boolean;
  readonly variables: readonly string[];
  resolve(input: ParameterInput, scope: TemplateVars): string | undefined;
}

// Cyclr lets a method drop an inherited connector parameter with this value.
const IGNORE = /^(\{\{)?\s*(CYCLR_)?IGNORE_PARAMETER\s*(\}\})?$/;

/** Connector parameters overridden (same name) or removed (IGNORE_PARAMETER) by method ones. */
export function effectiveParameters(connector: readonly Parameter[] = [], method: readonly Parameter[] = []): Parameter[] {
  const byName = new Map<string, Parameter>();
  for (const p of connector) byName.set(p.name, p);
  for (const p of method) {
    if (p.value !== undefined && IGNORE.test(p.value)) byName.delete(p.name);
    else byName.set(p.name, p);
  }
  return [...byName.values()];
}

const present = (v: string | undefined): v is string => v !== undefined && v !== '';

export function compileParameter(p: Parameter): CompiledParameter {
  const template: CompiledTemplate | undefined = p.value === undefined ? undefined : compileTemplate(p.value);
  const paging = template?.variables.some(isPagingVariable) ?? false;
  const numeric = !!p.value && /^\{\{\s*(CYCLR_)?PAGE_(NUMBER|OFFSET|SIZE)\s*\}\}$/.test(p.value);
  const targetName = p.targetName ?? p.name;
  const required = !p.optional && p.target !== 'responseField' && p.target !== 'script';
  const fromProperties = p.scope === 'account' || p.scope === 'partner';

  const resolve = (input: ParameterInput, scope: TemplateVars): string | undefined => {
    let value: string | undefined;
    if (paging) {
      const text = template!(scope);
      return text === '' ? undefined : text;
    }
    if (p.scope !== 'fixed') {
      value = fromProperties ? (input.properties[p.name] ?? input.parameters[p.name]) : (input.parameters[p.name] ?? input.properties[p.name]);
    }
    if (!present(value) && template) value = template(scope);
    if (!present(value)) value = p.default;
    if (present(value)) return value;
    if (required) throw new MethodInputError(`parameter "${p.name}" is required`, { parameter: p.name });
    return undefined;
  };

  return {
    name: p.name,
    target: p.target,
    targetName,
    bodyPath: p.target === 'body' ? compilePath(targetName) : undefined,
    sensitive: p.sensitive ?? false,
    paging,
    numeric,
    variables: template?.variables ?? [],
    resolve,
  };
}

// A method's request builder, compiled once. `prepare` does the per-call work (parameter values,
// request fields coerced and placed in the body); `build` the per-page work (paging variables,
// next URL, auth parts, encoding).
import { compileUrlTemplate, compileTemplate } from './template.js';
import type { CompiledTemplate, TemplateVars } from './template.js';
import { compileParameter, effectiveParameters } from './parameters.js';
import type { CompiledParameter, ParameterInput } from './parameters.js';
import { compilePath } from './path.js';
import type { CompiledPath } from './path.js';
import { coerceMany, compileCoercer } from './coerce.js';
import type { Coercer } from './coerce.js';
import { compileBodyEncoder } from './body-encoders.js';
import type { BodyEncoder } from './body-encoders.js';
import { MethodInputError } from './errors.js';
import type { AuthParts } from './auth/auth-applier.js';
import type { PageState } from './paging/paginator.js';
import type { OutgoingRequest } from './exchange.js';
import type { ConnectorDefinition, Method, Parameter } from '../definition/schema.js';

export interface CallInput extends ParameterInput {
  /** Request field values by system name. */
  fields: Readonly<Record<string, unknown>>;
  /** Auth values, merged into templates under their own names (ApiKey, Username…). */
  authValues: Readonly<Record<string, string>>;
  /** Platform variables: LastSuccessfulRunDate, Webhook_Url, AccountId… */
  vars?: Readonly<Record<string, unknown>>;
}

/** Per-call state: everything that does not change from page to page. */
export interface PreparedCall {
  scope: TemplateVars;
  input: ParameterInput;
  /** Values of parameters that do not depend on paging, already resolved. */
  fixed: Map<CompiledParameter, string>;
  /** Body with request fields and fixed body parameters placed; undefined when nothing was. */
  body: unknown;
  /** Values of sensitive parameters (to redact). */
  secrets: string[];
}

export interface BuiltRequest extends OutgoingRequest {
  /** The body before encoding (outbound paging slices it). */
  bodyValue: unknown;
}

export interface RequestBuilder {
  readonly httpMethod: string;
  readonly parameters: readonly CompiledParameter[];
  /** The effective parameters as declared (connector level + method level). */
  readonly declared: readonly Parameter[];
  /** Every variable used by what is sent (URL, headers, sent parameter values). */
  readonly sentVariables: ReadonlySet<string>;
  /** Lower-case header names and query names of sensitive parameters. */
  readonly maskedHeaders: ReadonlySet<string>;
  readonly maskedQuery: ReadonlySet<string>;
  prepare(input: CallInput): PreparedCall;
  build(call: PreparedCall, page: PageState, auth: AuthParts, bodyOverride?: { value: unknown }): BuiltRequest;
  /** Encodes a body value as this method does (undefined for methods without a body: GET/HEAD). */
  encodeBody(value: unknown): { body: string | Buffer; contentType: string } | undefined;
}

interface CompiledField {
  name: string;
  path: CompiledPath;
  coerce: Coercer;
  optional: boolean;
  fallback: unknown;
}

const NO_BODY = new Set(['GET', 'HEAD']);

function joinUrl(base: string | undefined, path: string): string {
  if (/^https?:\/\//i.test(path) || !base) return path;
  if (path === '') return base;
  if (path.startsWith('?')) return `${base.replace(/\/+$/, '')}${path}`;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function defaultAccept(method: Method): string {
  const format = method.response?.format;
  if (format === 'xml') return 'application/xml, text/xml;q=0.9, */*;q=0.5';
  if (format === 'text') return 'text/plain, */*;q=0.5';
  return 'application/json, */*;q=0.5';
}

export function compileRequestBuilder(definition: ConnectorDefinition, method: Method): RequestBuilder {
  const http = method.http!;
  const httpMethod = http.method.toUpperCase();
  const allowsBody = !NO_BODY.has(httpMethod);
  const url = compileUrlTemplate(joinUrl(definition.baseUrl, http.path));
  const staticHeaders: Array<[string, CompiledTemplate]> = Object.entries(http.headers ?? {}).map(([k, v]) => [k, compileTemplate(v)]);
  const encode: BodyEncoder = compileBodyEncoder(method.request?.format, method.request?.xmlRoot);
  const accept = defaultAccept(method);

  const declared = effectiveParameters(definition.parameters, method.parameters);
  const parameters = declared.map((p: Parameter) => compileParameter(p));
  const sent = parameters.filter((p) => p.target !== 'responseField' && p.target !== 'script');
  const fixedParams = sent.filter((p) => !p.paging);

  const fields: CompiledField[] = (method.request?.fields ?? []).map((f) => ({
    name: f.field,
    path: compilePath(f.location),
    coerce: compileCoercer(f, 'request'),
    optional: f.optional ?? false,
    fallback: f.default,
  }));

  const sentVariables = new Set<string>([...url.variables, ...staticHeaders.flatMap(([, t]) => t.variables), ...sent.flatMap((p) => p.variables)]);
  const maskedHeaders = new Set(sent.filter((p) => p.sensitive && p.target === 'header').map((p) => p.targetName.toLowerCase()));
  const maskedQuery = new Set(sent.filter((p) => p.sensitive && p.target === 'query').map((p) => p.targetName));

  function prepare(input: CallInput): PreparedCall {
    // Later sources win: request fields < properties < step parameters < platform vars < auth values.
    const scope: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(input.fields)) if (v === null || typeof v !== 'object') scope[k] = v;
    Object.assign(scope, input.properties, input.parameters, input.vars, input.authValues);

    const fixed = new Map<CompiledParameter, string>();
    const secrets: string[] = [];
    const problems: string[] = [];
    for (const p of fixedParams) {
      let value: string | undefined;
      try {
        value = p.resolve(input, scope);
      } catch (err) {
        if (!(err instanceof MethodInputError)) throw err;
        problems.push(`parameter "${p.name}"`);
        continue;
      }
      if (value === undefined) continue;
      if (p.sensitive) secrets.push(value);
      if (p.target === 'mergeField') scope[p.name] = value;
      fixed.set(p, value);
    }

    let body: unknown;
    if (allowsBody) {
      for (const f of fields) {
        let value = input.fields[f.name];
        if (value === undefined) value = f.fallback;
        if (value === undefined) {
          if (!f.optional) problems.push(`field "${f.name}"`);
          continue;
        }
        body = f.path.set(body, f.path.many ? coerceMany(f.coerce, value) : f.coerce(value));
      }
      for (const [p, value] of fixed) if (p.bodyPath) body = p.bodyPath.set(body, value);
    }
    if (problems.length > 0) throw new MethodInputError(`missing required ${problems.join(', ')}`, { missing: problems });
    return { scope, input, fixed, body, secrets };
  }

  function build(call: PreparedCall, page: PageState, auth: AuthParts, bodyOverride?: { value: unknown }): BuiltRequest {
    const scope: Record<string, unknown> = Object.assign(Object.create(call.scope) as Record<string, unknown>, page.vars);
    // Paging values first: a paging merge field may be used by the URL.
    const values = new Map(call.fixed);
    for (const p of sent) {
      if (!p.paging) continue;
      const value = p.resolve(call.input, scope);
      if (value === undefined) continue;
      if (p.target === 'mergeField') scope[p.name] = value;
      values.set(p, value);
    }

    const href = page.nextUrl ?? url(scope);
    let target: URL;
    try {
      target = new URL(href);
    } catch {
      throw new MethodInputError('the method URL is not a valid absolute URL: check the base URL and its merge fields');
    }
    const headers: Record<string, string> = { accept };
    for (const [name, t] of staticHeaders) headers[name] = t(scope);
    let body = bodyOverride ? bodyOverride.value : call.body;

    const place = (p: CompiledParameter, value: string) => {
      if (p.target === 'query') {
        // A next URL already carries the query the API wants.
        if (!page.nextUrl) target.searchParams.append(p.targetName, value);
      } else if (p.target === 'header') headers[p.targetName] = value;
      else if (p.target === 'body' && allowsBody) body = p.bodyPath!.replace(body, p.numeric ? Number(value) : value);
    };
    // Declaration order; fixed body parameters are already in the prepared body.
    for (const p of sent) {
      const value = values.get(p);
      if (value !== undefined && (p.paging || p.target !== 'body')) place(p, value);
    }

    Object.assign(headers, auth.headers);
    for (const [name, value] of auth.query) target.searchParams.set(name, value);
    for (const [path, name, value] of auth.body) {
      if (allowsBody) body = path.replace(body, value);
      else target.searchParams.set(name, value);
    }

    const request: BuiltRequest = { method: httpMethod, url: target.href, headers, bodyValue: body };
    if (body !== undefined && allowsBody) {
      const encoded = encode(body);
      request.body = encoded.body;
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = encoded.contentType;
    }
    return request;
  }

  const encodeBody = (value: unknown) => (allowsBody && value !== undefined ? encode(value) : undefined);

  return { httpMethod, parameters, declared, sentVariables, maskedHeaders, maskedQuery, prepare, build, encodeBody };
}

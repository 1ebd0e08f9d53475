// Authentication compiled once per release into appliers keyed by type. An applier turns the
// account's auth values (and, for oauth2, an access token) into headers, query and body values.
import { createHash } from 'node:crypto';
import { compilePath } from '../path.js';
import type { CompiledPath } from '../path.js';
import { compileTemplate, compileUrlTemplate } from '../template.js';
import type { TemplateVars } from '../template.js';
import { MethodInputError } from '../errors.js';
import { OAuth2TokenProvider } from './token-provider.js';
import type { OAuth2Tokens, TokenCache, TokenProviderDeps } from './token-provider.js';
import type { Authentication } from '../../definition/schema.js';

export type AuthValues = Readonly<Record<string, string>>;

export interface AuthParts {
  headers: Record<string, string>;
  query: Array<[string, string]>;
  /** Body locations; on requests without a body (GET/HEAD) they go to the query instead. */
  body: Array<[CompiledPath, string, string]>;
}

export interface TokenProviderRequest {
  values: AuthValues;
  properties: Readonly<Record<string, string>>;
  scope: TemplateVars;
  deps: Omit<TokenProviderDeps, 'cacheKey' | 'cache'> & { cache: TokenCache };
}

export interface CompiledAuth {
  readonly id: string;
  readonly type: Authentication['type'];
  /** Lower-case header names to mask in logs. */
  readonly maskedHeaders: ReadonlySet<string>;
  readonly maskedQuery: ReadonlySet<string>;
  /** oauth2: parts need an access token from a TokenProvider. */
  readonly usesToken: boolean;
  secrets(values: AuthValues): string[];
  parts(values: AuthValues, scope: TemplateVars, token?: string): AuthParts;
  /** oauth2 only: the built-in provider for the grant. */
  tokenProvider?(req: TokenProviderRequest): OAuth2TokenProvider;
}

const emptyParts = (): AuthParts => ({ headers: {}, query: [], body: [] });
// Every auth value is a secret, except bookkeeping that would only garble logs.
const NOT_SECRET = new Set(['ExpiresAt']);
const allValues = (values: AuthValues) =>
  Object.entries(values)
    .filter(([k, v]) => !NOT_SECRET.has(k) && typeof v === 'string' && v !== '')
    .map(([, v]) => v);

function required(values: AuthValues, key: string, authId: string): string {
  const v = values[key];
  if (v === undefined || v === '') throw new MethodInputError(`auth value "${key}" is missing for authentication "${authId}"`);
  return v;
}

type Compiler<T extends Authentication['type']> = (auth: Extract<Authentication, { type: T }>) => CompiledAuth;

const none: Compiler<'none'> = (auth) => ({
  id: auth.id,
  type: 'none',
  maskedHeaders: new Set(),
  maskedQuery: new Set(),
  usesToken: false,
  secrets: () => [],
  parts: emptyParts,
});

const apiKey: Compiler<'apiKey'> = (auth) => {
  const value = compileTemplate(auth.value ?? '{{ApiKey}}');
  const header = auth.header ?? 'X-Api-Key';
  const query = auth.query ?? 'api_key';
  return {
    id: auth.id,
    type: 'apiKey',
    maskedHeaders: new Set(auth.in === 'header' ? [header.toLowerCase()] : []),
    maskedQuery: new Set(auth.in === 'query' ? [query] : []),
    usesToken: false,
    secrets: allValues,
    parts(values, scope) {
      const text = value(scope);
      if (text === '') required(values, 'ApiKey', auth.id);
      const parts = emptyParts();
      if (auth.in === 'header') parts.headers[header] = text;
      else parts.query.push([query, text]);
      return parts;
    },
  };
};

const basic: Compiler<'basic'> = (auth) => ({
  id: auth.id,
  type: 'basic',
  maskedHeaders: new Set(),
  maskedQuery: new Set(),
  usesToken: false,
  secrets: (values) => {
    const s = allValues(values);
    if (values.Username !== undefined) s.push(`${values.Username}:${values.Password ?? ''}`);
    return s;
  },
  parts(values) {
    const user = required(values, 'Username', auth.id);
    const parts = emptyParts();
    parts.headers.Authorization = `Basic ${Buffer.from(`${user}:${values.Password ?? ''}`).toString('base64')}`;
    return parts;
  },
});

const authFields: Compiler<'authFields'> = (auth) => {
  const fields = auth.fields.map((f) => ({ ...f, name: f.targetName ?? f.key, path: compilePath(f.targetName ?? f.key) }));
  return {
    id: auth.id,
    type: 'authFields',
    maskedHeaders: new Set(fields.filter((f) => f.target === 'header' && f.sensitive !== false).map((f) => f.name.toLowerCase())),
    maskedQuery: new Set(fields.filter((f) => f.target === 'query' && f.sensitive !== false).map((f) => f.name)),
    usesToken: false,
    // Auth fields are credentials unless declared `sensitive: false`.
    secrets: (values) => fields.filter((f) => f.sensitive !== false && values[f.key]).map((f) => values[f.key]!),
    parts(values) {
      const parts = emptyParts();
      for (const f of fields) {
        const v = f.optional ? values[f.key] : required(values, f.key, auth.id);
        if (v === undefined || v === '') continue;
        if (f.target === 'header') parts.headers[f.name] = v;
        else if (f.target === 'query') parts.query.push([f.name, v]);
        else parts.body.push([f.path, f.name, v]);
      }
      return parts;
    },
  };
};

const oauth2: Compiler<'oauth2'> = (auth) => {
  const tokenUrl = compileUrlTemplate(auth.tokenUrl);
  const refreshUrl = auth.refreshUrl ? compileUrlTemplate(auth.refreshUrl) : undefined;
  const header = auth.tokenPlacement?.query && !auth.tokenPlacement.header ? undefined : (auth.tokenPlacement?.header ?? 'Authorization');
  const prefix = auth.tokenPlacement?.prefix ?? 'Bearer ';
  const query = auth.tokenPlacement?.query;
  return {
    id: auth.id,
    type: 'oauth2',
    maskedHeaders: new Set(header ? [header.toLowerCase()] : []),
    maskedQuery: new Set(query ? [query] : []),
    usesToken: true,
    secrets: allValues,
    parts(_values, _scope, token) {
      if (!token) throw new MethodInputError(`authentication "${auth.id}" has no access token`);
      const parts = emptyParts();
      if (header) parts.headers[header] = `${prefix}${token}`;
      if (query) parts.query.push([query, token]);
      return parts;
    },
    tokenProvider({ values, properties, scope, deps }) {
      // Per-account app credentials win over the partner's (Cyclr: account properties ClientId/ClientSecret).
      const pick = (key: string) => values[key] || properties[key] || undefined;
      const initial: OAuth2Tokens | undefined = values.AccessToken || values.RefreshToken
        ? { accessToken: values.AccessToken ?? '', refreshToken: values.RefreshToken || undefined, expiresAt: values.ExpiresAt ? Date.parse(values.ExpiresAt) || Number(values.ExpiresAt) : undefined }
        : undefined;
      if (initial && !initial.accessToken) initial.expiresAt = 0; // only a refresh token: refresh first
      const config = {
        grant: auth.grant,
        tokenUrl: tokenUrl(scope),
        refreshUrl: refreshUrl?.(scope),
        clientId: pick('ClientId'),
        clientSecret: pick('ClientSecret'),
        username: values.Username,
        password: values.Password,
        scope: auth.scopes?.join(auth.scopeSeparator ?? ' '),
        clientAuth: auth.clientAuth ?? 'body',
        extraTokenParams: auth.extraTokenParams,
        initial,
      };
      const cacheKey = createHash('sha256')
        .update(JSON.stringify([auth.id, config.grant, config.tokenUrl, config.clientId, config.clientSecret, config.username, config.password, config.scope, initial?.refreshToken ?? initial?.accessToken]))
        .digest('hex');
      return new OAuth2TokenProvider(config, { ...deps, cacheKey });
    },
  };
};

const COMPILERS: { [T in Authentication['type']]: Compiler<T> } = { none, apiKey, basic, authFields, oauth2 };

export function compileAuth(auth: Authentication): CompiledAuth {
  return (COMPILERS[auth.type] as Compiler<Authentication['type']>)(auth as never);
}

/** Used when a release declares no authentication at all. */
export const NO_AUTH: CompiledAuth = none({ id: 'none', name: 'None', type: 'none' });

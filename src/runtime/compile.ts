// A release (settings + validated definition) compiled once into typed runtime parts: per method a
// request builder, a paging plan, a record selector, outbound chunking and rate limits; per
// authentication an applier. Cached per release so executions never re-read the definition.
import { compileRequestBuilder } from './request-builder.js';
import type { RequestBuilder } from './request-builder.js';
import { compileRecordSelector } from './record-selector.js';
import type { RecordSelector } from './record-selector.js';
import { compilePagingPlan } from './paging/paging-plan.js';
import type { PagingPlan } from './paging/paging-plan.js';
import { compileArrayPath } from './path.js';
import type { CompiledPath } from './path.js';
import { NO_AUTH, compileAuth } from './auth/auth-applier.js';
import type { CompiledAuth } from './auth/auth-applier.js';
import { TokenCache } from './auth/token-provider.js';
import { effectiveRateLimits } from './rate-limits.js';
import type { RateLimits } from './http/rate-limiter.js';
import type { ResponseFormat } from './response-parser.js';
import { PlexusError } from '../errors/errors.js';
import { MethodInputError } from './errors.js';
import type { ConnectorDefinition, Method, ReleaseSettings } from '../definition/schema.js';

export interface OutboundPlan {
  readonly pageSize: number;
  /** The request array that is sent in chunks. */
  readonly location: CompiledPath;
}

export interface CompiledMethod {
  readonly id: string;
  readonly name: string;
  readonly type: NonNullable<Method['type']>;
  /** Undefined for webhook/script methods, which make no HTTP call of their own. */
  readonly request?: RequestBuilder;
  readonly records: RecordSelector;
  readonly paging: PagingPlan;
  readonly outbound?: OutboundPlan;
  readonly rateLimits?: RateLimits;
  readonly responseFormat?: ResponseFormat;
  readonly idempotent?: boolean;
}

export interface CompiledConnector {
  readonly releaseId?: string;
  readonly settings: ReleaseSettings;
  readonly definition: ConnectorDefinition;
  readonly methods: ReadonlyMap<string, CompiledMethod>;
  readonly auths: ReadonlyMap<string, CompiledAuth>;
  readonly defaultAuth: CompiledAuth;
  /** OAuth2 tokens of this release's authentications, shared by all its executions. */
  readonly tokenCache: TokenCache;
  /** The method, or a NOT_FOUND error. */
  method(id: string): CompiledMethod;
  /** The authentication with this id (default one when omitted), or a BAD_REQUEST error. */
  auth(id?: string): CompiledAuth;
}

function compileMethod(settings: ReleaseSettings, definition: ConnectorDefinition, method: Method): CompiledMethod {
  const request = method.http ? compileRequestBuilder(definition, method) : undefined;
  const paging = compilePagingPlan({
    settings,
    release: definition.paging,
    method: method.paging,
    parameters: request?.declared ?? [],
    sentVariables: request?.sentVariables ?? new Set(),
  });
  return {
    id: method.id,
    name: method.name,
    type: method.type ?? 'action',
    request,
    records: compileRecordSelector(method.records, method.response?.fields ?? []),
    paging,
    outbound: compileOutbound(settings, definition, method),
    rateLimits: effectiveRateLimits(definition.rateLimits, method.rateLimits),
    responseFormat: method.response?.format,
    idempotent: method.http?.idempotent,
  };
}

function compileOutbound(settings: ReleaseSettings, definition: ConnectorDefinition, method: Method): OutboundPlan | undefined {
  const on = method.paging?.outbound ?? definition.paging?.outbound ?? settings.outboundPaging ?? false;
  const location = method.paging?.outboundLocation ?? definition.paging?.outboundLocation;
  const pageSize = method.paging?.outboundPageSize ?? definition.paging?.outboundPageSize ?? settings.outboundPageSize;
  if (!on || location === undefined || !pageSize) return undefined;
  return { pageSize, location: compileArrayPath(location) };
}

/** Compiles a valid release. Definitions are validated on push; this does not re-validate. */
export function compileRelease(settings: ReleaseSettings, definition: ConnectorDefinition, opts: { releaseId?: string } = {}): CompiledConnector {
  const methods = new Map((definition.methods ?? []).map((m) => [m.id, compileMethod(settings, definition, m)]));
  const auths = new Map((definition.authentications ?? []).map((a) => [a.id, compileAuth(a)]));
  const declaredDefault = (definition.authentications ?? []).find((a) => a.default) ?? definition.authentications?.[0];
  const defaultAuth = declaredDefault ? auths.get(declaredDefault.id)! : NO_AUTH;
  return {
    releaseId: opts.releaseId,
    settings,
    definition,
    methods,
    auths,
    defaultAuth,
    tokenCache: new TokenCache(),
    method(id) {
      const m = methods.get(id);
      if (!m) throw new PlexusError('NOT_FOUND', 404, `method ${id} not found`);
      return m;
    },
    auth(id) {
      if (id === undefined) return defaultAuth;
      const a = auths.get(id);
      if (!a) throw new MethodInputError(`authentication ${id} not found in this release`);
      return a;
    },
  };
}

/**
 * Compiled releases by key, least recently used evicted first. Live and deprecated releases are
 * immutable, so their id is a key; for a draft use a key that changes with it (id + updatedAt)
 * or call `delete` when it is saved.
 */
export class ReleaseCache {
  readonly #entries = new Map<string, CompiledConnector>();
  constructor(readonly maxEntries = 200) {}

  get(key: string, load: () => { settings: ReleaseSettings; definition: ConnectorDefinition; releaseId?: string }): CompiledConnector {
    let compiled = this.#entries.get(key);
    if (compiled) {
      this.#entries.delete(key); // refresh recency
    } else {
      const release = load();
      compiled = compileRelease(release.settings, release.definition, { releaseId: release.releaseId ?? key });
      if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, compiled);
    return compiled;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

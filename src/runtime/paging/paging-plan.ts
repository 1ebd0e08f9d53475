// The paging style of a method, decided once at compile time from where PAGE_* variables are
// used: PAGE_NUMBER/PAGE_OFFSET in sent values → incrementing pages; a responseField parameter
// with PAGE_NEXT_URL → next URL; responseField parameters with PAGE_TOKEN[_X] → cursors.
// Styles combine (Cyclr's "token + page + size").
import { compilePath } from '../path.js';
import type { CompiledPath } from '../path.js';
import { compileResponseReader } from './response-reader.js';
import type { ResponseReader } from './response-reader.js';
import { templateVariables } from '../../definition/variables.js';
import { normaliseVariable } from '../template.js';
import type { Paging, Parameter, ReleaseSettings } from '../../definition/schema.js';

export const DEFAULT_PAGE_SIZE = 100;
export const DEFAULT_MAX_PAGES = 1000;

export interface TokenReader {
  variable: string;
  read: ResponseReader;
}

export interface PagingPlan {
  /** Inbound paging is on and at least one paging variable is wired. */
  readonly enabled: boolean;
  readonly pageSize: number;
  readonly maxPages: number;
  /** PAGE_NUMBER or PAGE_OFFSET is sent: pages advance by counting. */
  readonly increments: boolean;
  readonly nextUrl?: ResponseReader;
  readonly tokens: readonly TokenReader[];
  readonly totalCount?: CompiledPath;
  readonly hasMore?: CompiledPath;
}

export interface PagingInputs {
  settings: ReleaseSettings;
  release?: Paging;
  method?: Paging;
  /** Effective parameters of the method (connector + method level). */
  parameters: readonly Parameter[];
  /** Variables used by everything that is sent: URL, headers, non-responseField parameter values. */
  sentVariables: ReadonlySet<string>;
}

const isToken = (v: string) => /^PAGE_TOKEN(_\w+)?$/.test(v);

export function compilePagingPlan({ settings, release, method, parameters, sentVariables }: PagingInputs): PagingPlan {
  const pick = <K extends keyof Paging>(key: K): Paging[K] | undefined => method?.[key] ?? release?.[key];
  const on = pick('inbound') ?? settings.inboundPaging ?? false;
  const pageSize = pick('pageSize') ?? settings.inboundPageSize ?? DEFAULT_PAGE_SIZE;

  let nextUrl: ResponseReader | undefined;
  const tokens: TokenReader[] = [];
  for (const p of parameters) {
    if (p.target !== 'responseField' || !p.value) continue;
    const variable = templateVariables(p.value).map(normaliseVariable)[0];
    const read = compileResponseReader(p.targetName ?? p.name);
    if (variable === 'PAGE_NEXT_URL') nextUrl = read;
    else if (variable && isToken(variable)) tokens.push({ variable, read });
  }
  const increments = sentVariables.has('PAGE_NUMBER') || sentVariables.has('PAGE_OFFSET');
  const wired = increments || nextUrl !== undefined || tokens.length > 0;
  const totalCountPath = pick('totalCountPath');
  const hasMorePath = method?.hasMorePath ?? release?.hasMorePath;
  return {
    enabled: on && wired,
    pageSize,
    maxPages: pick('maxPages') ?? DEFAULT_MAX_PAGES,
    increments,
    nextUrl,
    tokens,
    totalCount: totalCountPath ? compilePath(totalCountPath) : undefined,
    hasMore: hasMorePath ? compilePath(hasMorePath) : undefined,
  };
}

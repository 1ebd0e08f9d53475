// Effective rate limits of a method: a method `override` replaces the connector limits, otherwise
// the stricter of both applies (Cyclr before Nov 2024, and the default since).
import type { RateLimits as DeclaredLimits } from '../definition/schema.js';
import type { RateLimits } from './http/rate-limiter.js';

const strip = (l: DeclaredLimits): RateLimits => {
  const out: RateLimits = {};
  if (l.requestsPerSecond !== undefined) out.requestsPerSecond = l.requestsPerSecond;
  if (l.secondsBetweenRequests !== undefined) out.secondsBetweenRequests = l.secondsBetweenRequests;
  return out;
};

const minDefined = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
const maxDefined = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

export function effectiveRateLimits(connector?: DeclaredLimits, method?: DeclaredLimits): RateLimits | undefined {
  let limits: RateLimits;
  if (method?.override) limits = strip(method);
  else {
    const c = connector ? strip(connector) : {};
    const m = method ? strip(method) : {};
    limits = {};
    const rps = minDefined(c.requestsPerSecond, m.requestsPerSecond);
    const gap = maxDefined(c.secondsBetweenRequests, m.secondsBetweenRequests);
    if (rps !== undefined) limits.requestsPerSecond = rps;
    if (gap !== undefined) limits.secondsBetweenRequests = gap;
  }
  return limits.requestsPerSecond === undefined && limits.secondsBetweenRequests === undefined ? undefined : limits;
}

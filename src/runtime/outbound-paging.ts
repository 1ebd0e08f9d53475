// Outbound paging: when the request array at the method's outbound location holds more items than
// the outbound page size, it is sent as several requests of at most that size. Every chunk is
// sent even when one fails; the result says which items each request carried and how it went.
import { CallSession } from './call-session.js';
import type { MethodContext } from './call-session.js';
import { Paginator } from './paging/paginator.js';
import { describeError } from './errors.js';
import type { ErrorInfo } from './errors.js';
import type { RecordValue } from './record-selector.js';
import type { CompiledConnector } from './compile.js';

export interface OutboundChunk {
  index: number;
  /** Items carried: [startIndex, endIndex) of the request array. */
  items: [number, number];
  status?: number;
  ok: boolean;
  error?: ErrorInfo;
  durationMs: number;
  /** The typed error (non-enumerable, so chunks stay JSON-safe; use `error` for output). */
  cause?: unknown;
}

export interface OutboundResult {
  chunks: OutboundChunk[];
  /** Records of the successful chunks' responses, in order. */
  records: RecordValue[];
}

export async function sendOutbound(compiled: CompiledConnector, methodId: string, ctx: MethodContext): Promise<OutboundResult> {
  const session = new CallSession(compiled, methodId, ctx);
  const { method, prepared } = session;
  const plan = method.outbound;
  const body = prepared.body;
  const items = plan ? plan.location.get(body) : undefined;
  const page = new Paginator(method.paging).first();
  const result: OutboundResult = { chunks: [], records: [] };

  // Nothing to split: one request carrying everything (or no array at all).
  const ranges: Array<[number, number]> = [];
  if (plan && Array.isArray(items) && items.length > plan.pageSize) {
    for (let start = 0; start < items.length; start += plan.pageSize) ranges.push([start, Math.min(items.length, start + plan.pageSize)]);
  } else ranges.push([0, Array.isArray(items) ? items.length : 0]);

  let recordIndex = 0;
  for (const [index, [start, end]] of ranges.entries()) {
    const override = ranges.length > 1 ? { value: plan!.location.replace(body, (items as unknown[]).slice(start, end)) } : undefined;
    const chunk: OutboundChunk = { index, items: [start, end], ok: false, durationMs: 0 };
    try {
      const sent = await session.send(page, override);
      chunk.status = sent.res.status;
      chunk.durationMs = sent.durationMs;
      if (sent.res.status >= 400) throw session.statusError(sent);
      const raw = method.records.select(session.parse(sent));
      for (const r of method.records.shape(raw, recordIndex, ctx.includeRaw)) result.records.push(r);
      recordIndex += raw.length;
      chunk.ok = true;
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      chunk.error = describeError(err, session.masking.secrets);
      // Not enumerable: chunks stay JSON-safe.
      Object.defineProperty(chunk, 'cause', { value: err, enumerable: false });
    }
    result.chunks.push(chunk);
  }
  return result;
}

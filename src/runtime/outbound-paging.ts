// Outbound paging: when the request array at the method's outbound location holds more items than
// the outbound page size, it is sent as several requests of at most that size. Every chunk is
// sent even when one fails; the result says which items each request carried and how it went.
import { CallSession } from './call-session.js';
import type { MethodContext } from './call-session.js';
import { Paginator } from './paging/paginator.js';
import { performance } from 'node:perf_hooks';
import { describeError, MethodCallError } from './errors.js';
import type { ErrorInfo } from './errors.js';
import type { RecordValue } from './record-selector.js';
import type { CompiledConnector } from './compile.js';
import { afterPaging, condition } from './script-events.js';
import { splitRequestUrl } from './action-scripts.js';
import type { ActionRequest, ScriptOutcome } from './action-scripts.js';
import type { RuntimeWarning } from './errors.js';

export interface OutboundChunk {
  index: number;
  /** Items carried: [startIndex, endIndex) of the request array. */
  items: [number, number];
  status?: number;
  ok: boolean;
  error?: ErrorInfo;
  durationMs: number;
  /** A script decided the chunk was not sent (before_action false) or its error is a warning (after_error isWarning). */
  warning?: string;
  /** The typed error (non-enumerable, so chunks stay JSON-safe; use `error` for output). */
  cause?: unknown;
}

export interface OutboundResult {
  chunks: OutboundChunk[];
  /** Script warnings (before_action false, after_error isWarning). */
  warnings: RuntimeWarning[];
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
  const result: OutboundResult = { chunks: [], records: [], warnings: [] };
  const { scripts } = session;
  const outcome: ScriptOutcome = { warnings: [] };
  const wantsPaging = scripts?.handles('after_action_paging') ?? false;
  const wantsCondition = scripts?.handles('action_condition') ?? false;
  const allRaw: unknown[] = [];
  let lastBody: unknown;
  let lastRequest: ActionRequest | undefined;

  // Nothing to split: one request carrying everything (or no array at all).
  const ranges: Array<[number, number]> = [];
  if (plan && Array.isArray(items) && items.length > plan.pageSize) {
    for (let start = 0; start < items.length; start += plan.pageSize) ranges.push([start, Math.min(items.length, start + plan.pageSize)]);
  } else ranges.push([0, Array.isArray(items) ? items.length : 0]);

  let recordIndex = 0;
  for (const [index, [start, end]] of ranges.entries()) {
    const override = ranges.length > 1 ? { value: plan!.location.replace(body, (items as unknown[]).slice(start, end)) } : undefined;
    const chunk: OutboundChunk = { index, items: [start, end], ok: false, durationMs: 0 };
    const started = performance.now();
    try {
      const got = await session.request(page, override);
      if (got.sent) {
        chunk.status = got.sent.res.status;
        chunk.durationMs = got.sent.durationMs;
      }
      if (got.kind === 'skipped') {
        chunk.warning = got.warning.message;
        outcome.warnings.push(got.warning);
        result.warnings.push(got.warning);
      } else {
        const raw = method.records.select(got.body);
        if (wantsPaging) for (const r of raw) allRaw.push(r);
        else for (const r of method.records.shape(raw, recordIndex, ctx.includeRaw)) result.records.push(r);
        recordIndex += raw.length;
        lastBody = got.body;
        lastRequest = { ...splitRequestUrl(got.sent.built.url), headers: got.sent.built.headers };
      }
      chunk.ok = true;
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      if (err instanceof MethodCallError) chunk.status = err.status;
      chunk.durationMs = performance.now() - started;
      chunk.error = describeError(err, session.masking.secrets);
      // Not enumerable: chunks stay JSON-safe.
      Object.defineProperty(chunk, 'cause', { value: err, enumerable: false });
    }
    result.chunks.push(chunk);
  }
  if (scripts) {
    try {
      if (wantsPaging) {
        const out = await afterPaging(session, allRaw, lastRequest, outcome);
        for (const r of method.records.shape(out.raw, 0, ctx.includeRaw)) result.records.push(r);
        if (out.changed) lastBody = out.body;
      }
      if (wantsCondition) outcome.route = await condition(session, lastBody);
    } finally {
      ctx.onScriptOutcome?.(outcome);
    }
  }
  return result;
}

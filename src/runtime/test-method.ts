// "Test a method" (POST /v1/connectors/:cid/releases/:rid/methods/:mid/test): runs a method of a
// release with the given credentials and returns a JSON-safe, redacted account of what happened.
import { compileRelease } from './compile.js';
import type { CompiledConnector } from './compile.js';
import { runMethod } from './executor.js';
import { describeError } from './errors.js';
import type { ErrorInfo, RuntimeWarning } from './errors.js';
import type { HttpSender } from './exchange.js';
import { releaseScriptSources } from './action-scripts.js';
import type { ActionScriptsFactory } from './action-scripts.js';
import type { OutboundChunk } from './outbound-paging.js';
import type { RecordValue } from './record-selector.js';
import type { ConnectorDefinition, ReleaseSettings } from '../definition/schema.js';

export interface TestMethodInput {
  authId?: string;
  auth: Record<string, string>;
  properties?: Record<string, string>;
  parameters?: Record<string, string>;
  fields?: Record<string, unknown>;
  maxPages?: number;
}

export interface TestMethodResult {
  ok: boolean;
  requests: Array<{ method: string; url: string; headers: Record<string, string>; body?: string }>;
  responses: Array<{ status: number; headers: Record<string, string>; body: string }>;
  records: RecordValue[];
  warnings: RuntimeWarning[];
  timings: { totalMs: number; perRequest: number[] };
  chunks?: OutboundChunk[];
  error?: ErrorInfo;
}

/** Response bodies are cut to 4 KB in test results. */
export const TEST_BODY_CHARS = 4096;
/** A test run reads at most this many pages unless asked for more. */
export const TEST_DEFAULT_MAX_PAGES = 10;

export async function testMethod(
  release: { settings: ReleaseSettings; definition: ConnectorDefinition } | CompiledConnector,
  methodId: string,
  input: TestMethodInput,
  http: HttpSender,
  options: { scripts?: ActionScriptsFactory } = {},
): Promise<TestMethodResult> {
  const compiled = 'methods' in release && release.methods instanceof Map ? (release as CompiledConnector) : compileRelease(release.settings, release.definition);
  compiled.method(methodId); // NOT_FOUND before any script is prepared
  const scripts = options.scripts?.(releaseScriptSources(compiled.definition, methodId, input.parameters));
  const run = await runMethod(compiled, methodId, {
    ...(scripts ? { scripts } : {}),
    auth: { id: input.authId, values: input.auth },
    properties: input.properties,
    parameters: input.parameters,
    fields: input.fields,
    maxPages: input.maxPages ?? TEST_DEFAULT_MAX_PAGES,
    http,
    excerptChars: TEST_BODY_CHARS,
  });
  const secrets = Object.values(input.auth);
  const result: TestMethodResult = {
    ok: run.ok,
    requests: run.requests.map(({ request }) => ({
      method: request.method,
      url: request.url,
      headers: request.headers,
      ...(request.bodyExcerpt !== undefined ? { body: request.bodyExcerpt } : {}),
    })),
    responses: run.requests.flatMap(({ response }) => (response ? [{ status: response.status, headers: response.headers, body: response.bodyExcerpt }] : [])),
    records: run.records,
    warnings: run.warnings,
    timings: { totalMs: round(run.timings.totalMs), perRequest: run.timings.perRequest.map(round) },
  };
  if (run.chunks) result.chunks = run.chunks;
  if (run.error !== undefined) result.error = describeError(run.error, secrets);
  return result;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

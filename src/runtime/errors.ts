// Typed outcomes of a method call. Messages never contain secrets: everything stored here is
// redacted by whoever creates the error.
import { STATUS_CODES } from 'node:http';
import { PlexusError } from '../errors/errors.js';
import { HttpCallError, HttpStatusError, redact } from './http/errors.js';
import type { HttpCallErrorInit, HttpErrorKind } from './http/errors.js';
import { AuthSessionException, ScriptFailure } from './action-scripts.js';

export type RuntimeErrorKind = HttpErrorKind | 'coercion' | 'input' | 'auth' | 'script' | 'internal';

/** The API answered 4xx/5xx. */
export class MethodCallError extends HttpStatusError {
  constructor(
    readonly methodId: string,
    init: HttpCallErrorInit & { status: number },
  ) {
    super(init);
  }
}

export const statusReason = (status: number): string => `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;

/** The caller's input cannot make a request: missing required parameter/field, bad merge value. */
export class MethodInputError extends PlexusError {
  readonly kind = 'input' as const;
  constructor(message: string, details?: unknown) {
    super('BAD_REQUEST', 400, message, details);
    this.name = 'MethodInputError';
  }
}

/** A value could not be converted to its field's declared type. */
export class FieldCoercionError extends Error {
  readonly kind = 'coercion' as const;
  constructor(
    readonly field: string,
    readonly type: string,
    /** JSON excerpt of the offending value. */
    readonly value: string,
    readonly recordIndex?: number,
    detail?: string,
  ) {
    const where = recordIndex === undefined ? '' : ` (record ${recordIndex})`;
    super(`field "${field}"${where}: cannot convert ${value} to ${type}${detail ? `: ${detail}` : ''}`);
    this.name = 'FieldCoercionError';
  }

  /** The same error placed at a record index (coercers do not know where they run). */
  at(recordIndex: number): FieldCoercionError {
    return new FieldCoercionError(this.field, this.type, this.value, recordIndex);
  }
}

/** Obtaining or refreshing credentials failed (token endpoint error, no refresh token). */
export class AuthError extends Error {
  readonly kind = 'auth' as const;
  constructor(
    message: string,
    readonly status?: number,
    readonly bodyExcerpt?: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

export interface ErrorInfo {
  kind: RuntimeErrorKind;
  status?: number;
  message: string;
}

/** JSON-safe summary of any error thrown by a method run; unknown errors are redacted. */
export function describeError(err: unknown, secrets: readonly string[] = []): ErrorInfo {
  if (err instanceof HttpCallError) {
    const message = err.bodyExcerpt ? `${err.message} — ${err.bodyExcerpt}` : err.message;
    return { kind: err.kind, ...(err.status !== undefined ? { status: err.status } : {}), message: redact(message, secrets) };
  }
  if (err instanceof FieldCoercionError || err instanceof MethodInputError) return { kind: err.kind, message: redact(err.message, secrets) };
  if (err instanceof AuthError) {
    return { kind: 'auth', ...(err.status !== undefined ? { status: err.status } : {}), message: redact(err.message, secrets) };
  }
  if (err instanceof ScriptFailure) return { kind: 'script', message: redact(err.message, secrets) };
  if (err instanceof AuthSessionException) return { kind: 'auth', message: redact(err.message, secrets) };
  if (err instanceof Error && err.name === 'AbortError') return { kind: 'timeout', message: 'aborted' };
  return { kind: 'internal', message: redact(err instanceof Error ? err.message : String(err), secrets) };
}

/** Something the caller should know that did not fail the call (paging cut short, cursor repeated). */
export interface RuntimeWarning {
  code: 'PAGING_MAX_PAGES' | 'PAGING_REPEATED' | 'PAGING_NEXT_URL_REJECTED' | 'SCRIPT_WARNING' | 'SCRIPT_ABORTED';
  message: string;
}

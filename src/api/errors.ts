import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, type ErrorKind } from '../domain/errors.js';

const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid_input: 400,
  unauthenticated: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/**
 * Failures of Engram's own side whose message is written for the client. Others may carry what a
 * dependency said (a path on its disk, a setting's name): their code goes out with a generic message.
 */
const CLIENT_WORDED_FAILURES: ReadonlySet<string> = new Set(['dependency_unavailable', 'overloaded', 'concurrent_change']);

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 5;

export interface ErrorResponse {
  readonly status: number;
  readonly body: { readonly error: { readonly code: string; readonly message: string; readonly details?: unknown } };
}

interface ValidationIssue {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: { readonly additionalProperty?: unknown; readonly allowedValue?: unknown; readonly allowedValues?: unknown };
}

/**
 * What is wrong, naming what the validator knows: the field that is not allowed, the values that
 * are. A choice among constants (a union of literals) is told once, as the list of its values.
 */
function issueMessages(issues: readonly ValidationIssue[]): Array<{ path: string; message: string }> {
  const allowed = new Map<string, unknown[]>();
  for (const issue of issues) {
    if (issue.keyword === 'const') allowed.set(issue.instancePath ?? '', [...(allowed.get(issue.instancePath ?? '') ?? []), issue.params?.allowedValue]);
  }
  const told = new Set<string>();
  const messages: Array<{ path: string; message: string }> = [];
  for (const issue of issues) {
    const path = issue.instancePath ?? '';
    const values = allowed.get(path);
    if (values !== undefined && (issue.keyword === 'const' || issue.keyword === 'anyOf')) {
      if (!told.has(path)) messages.push({ path, message: oneOf(values) });
      told.add(path);
    } else if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') {
      messages.push({ path, message: `must not have the field ${JSON.stringify(issue.params.additionalProperty)} (unknown, or not a valid name)` });
    } else if (issue.keyword === 'enum' && Array.isArray(issue.params?.allowedValues)) {
      messages.push({ path, message: oneOf(issue.params.allowedValues) });
    } else {
      messages.push({ path, message: issue.message ?? 'is invalid' });
    }
  }
  return messages;
}

function oneOf(values: readonly unknown[]): string {
  return `must be one of ${values.map((value) => JSON.stringify(value)).join(', ')}`;
}

function fromFastifyError(error: FastifyError): ErrorResponse | null {
  if (Array.isArray(error.validation)) {
    const issues = issueMessages(error.validation as ValidationIssue[]).map(({ path, message }) => ({
      path: path === '' ? error.validationContext ?? '' : path,
      message,
    }));
    const first = issues[0];
    const message = first === undefined ? 'the request is invalid' : `${error.validationContext ?? 'request'}${first.path.startsWith('/') ? first.path : ''} ${first.message}`;
    return { status: 400, body: { error: { code: 'invalid_input', message, details: issues } } };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: { code: 'payload_too_large', message: 'the request body is too large' } } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: { code: 'invalid_json', message: 'the request body is not valid JSON' } } };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: { error: { code: 'invalid_url', message: 'the path is not a valid URL' } } };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, body: { error: { code: 'uri_too_long', message: 'a part of the path is too long' } } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: { error: { code: 'unsupported_media_type', message: 'send the body as application/json' } },
      };
    default:
      break;
  }
  // Fastify's parser rejects __proto__ and constructor.prototype keys with a SyntaxError.
  if (error instanceof SyntaxError) {
    return { status: 400, body: { error: { code: 'invalid_json', message: 'the request body is not valid JSON' } } };
  }
  const status = error.statusCode ?? 500;
  if (status === 429) {
    return { status, body: { error: { code: 'rate_limited', message: 'too many requests; slow down' } } };
  }
  if (status >= 400 && status < 500) {
    return { status, body: { error: { code: 'bad_request', message: 'the request cannot be processed' } } };
  }
  return null;
}

/**
 * The one place that turns an error into a status and a body. Anything unexpected becomes a
 * generic 500 (logged with its stack, never returned), so no internals reach a client.
 */
export function toErrorResponse(error: unknown, logger: FastifyBaseLogger): ErrorResponse {
  if (isDomainError(error)) {
    const status = STATUS_BY_KIND[error.kind];
    // Shed requests are counted by the metrics; a log line each would add load when there is too much.
    if (status >= 500 && error.code !== 'overloaded') logger.warn({ err: error, code: error.code }, 'request failed');
    const message = status < 500 || CLIENT_WORDED_FAILURES.has(error.code) ? error.message : genericMessage(status);
    const details = status >= 500 ? undefined : error.details;
    return { status, body: { error: { code: error.code, message, ...(details === undefined ? {} : { details }) } } };
  }
  const mapped = typeof error === 'object' && error !== null ? fromFastifyError(error as FastifyError) : null;
  if (mapped !== null) return mapped;
  logger.error({ err: error }, 'unexpected error');
  return { status: 500, body: { error: { code: 'internal', message: 'an internal error occurred' } } };
}

function genericMessage(status: number): string {
  return status === 503 ? 'a dependency of engram is unavailable; try again shortly' : 'an internal error occurred';
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const response = toErrorResponse(error, request.log);
  if (response.status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return reply.status(response.status).send(response.body);
}

/** The stable problem codes of the API; each becomes `type: /problems/<code>` in problem+json. */
export const problemCatalog = {
  'bad-request': { status: 400, title: 'Bad request' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'json-too-deep': { status: 400, title: 'The JSON body nests arrays and objects too deeply' },
  unauthorized: { status: 401, title: 'Authentication required' },
  'invalid-credentials': { status: 401, title: 'Invalid email or password' },
  forbidden: { status: 403, title: 'Not allowed' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'email-taken': { status: 409, title: 'An account with this email already exists' },
  'organization-has-children': { status: 409, title: 'The organization still has child organizations' },
  'last-owner': { status: 409, title: 'A tenant must keep at least one active owner' },
  'already-member': { status: 409, title: 'That person is already a member' },
  'invitation-invalid': { status: 404, title: 'No such invitation' },
  'invitation-expired': { status: 410, title: 'The invitation has expired' },
  'invitation-revoked': { status: 410, title: 'The invitation was withdrawn' },
  'invitation-used': { status: 409, title: 'The invitation has already been accepted' },
  'invitation-email-mismatch': { status: 403, title: 'The invitation is for another email address' },
  'oidc-unknown-provider': { status: 404, title: 'No such sign-in provider' },
  'oidc-flow-missing': { status: 400, title: 'The sign-in was not started here or has expired' },
  'oidc-state-mismatch': { status: 400, title: 'The sign-in answer does not match its request (state)' },
  'oidc-nonce-mismatch': { status: 400, title: 'The ID token does not match the sign-in request (nonce)' },
  'oidc-denied': { status: 400, title: 'The provider did not sign you in' },
  'oidc-failed': { status: 400, title: 'The provider did not confirm the sign-in' },
  'oidc-email-unverified': { status: 403, title: 'The provider has not verified your email address' },
  'oidc-provider-unavailable': { status: 503, title: 'The sign-in provider cannot be reached' },
  'insufficient-credits': { status: 402, title: 'Not enough credits' },
  'idempotency-key-required': { status: 400, title: 'An Idempotency-Key header is required' },
  'idempotency-key-reused': { status: 409, title: 'The Idempotency-Key was used for another request' },
  'reservation-settled': { status: 409, title: 'The reservation was already captured, released or expired' },
  'plan-limit-reached': { status: 402, title: 'The plan does not allow more of this' },
  'billing-not-configured': { status: 503, title: 'Billing is not configured on this platform' },
  'billing-provider-unavailable': { status: 502, title: 'The payment provider did not answer' },
  'not-purchasable': { status: 409, title: 'This plan or credit pack cannot be bought through Checkout' },
  'subscription-exists': { status: 409, title: 'The tenant already has a subscription' },
  'webhook-signature-invalid': { status: 400, title: 'The webhook signature does not verify' },
  'webhook-payload-invalid': { status: 400, title: 'The webhook event is not shaped as expected' },
  'webhook-endpoint-disabled': { status: 409, title: 'The webhook endpoint is disabled' },
  'events-pruned': { status: 410, title: 'Those events are no longer kept' },
  'setup-link-invalid': { status: 410, title: 'The setup link is unknown, already used or expired' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'validation-failed': { status: 422, title: 'The request is not valid' },
  'organization-cycle': { status: 422, title: 'The organization hierarchy would contain a cycle' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof problemCatalog;

export interface FieldError {
  /** JSON pointer to the failing field, e.g. `/email`. */
  path: string;
  message: string;
}

/** The one error type of the application; the error plugin turns it into problem+json. */
export class AppError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extensions: { errors?: FieldError[] } & Record<string, unknown> = {},
    /** Response headers that belong to the problem, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? problemCatalog[code].title);
    this.name = 'AppError';
    this.status = problemCatalog[code].status;
    this.title = problemCatalog[code].title;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemType(code: ProblemCode): string {
  return `/problems/${code}`;
}

export function toProblem(error: AppError, requestId: string, instance?: string): Problem {
  return {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(instance ? { instance } : {}),
    requestId,
    ...error.extensions,
  };
}

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': problem.requestId, ...headers },
  });
}

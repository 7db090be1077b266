import type {
  CreateRoleBody,
  PermissionList,
  RoleList,
  RoleModel,
  UpdateRoleBody,
} from '../../../server/features/access/model.ts';
import type { VerificationResentModel } from '../../../server/features/account/model.ts';
import type {
  ApiKeyList,
  ApiKeyModel,
  CreateApiKeyBody,
  CreatedApiKey,
} from '../../../server/features/api-keys/model.ts';
import type { AuditVerdict } from '../../../server/features/audit/chain-routes.ts';
import type {
  AuditActionCatalog,
  AuditCheckpoint,
  AuditEntry,
} from '../../../server/features/audit/model.ts';
import type {
  LoginBody,
  LoginResponse,
  MembershipModel,
  MeResponse,
  SignupBody,
  SignupResponse,
  TenantChoiceModel,
  TenantModel,
  UserModel,
} from '../../../server/features/auth/model.ts';
import type {
  CheckoutBody,
  CreditPackModel,
  PlanModel,
  PlansResponse,
  RedirectModel,
  SubscriptionModel,
} from '../../../server/features/billing/model.ts';
import type { CreditBalanceModel, CreditTransactionPage } from '../../../server/features/credits/model.ts';
import type { EventCatalog } from '../../../server/features/events/routes.ts';
import type {
  AcceptInvitationBody,
  AcceptInvitationResponse,
  CreateInvitationBody,
  InvitationList,
  InvitationModel,
  InvitationPreview,
  IssuedInvitationModel,
} from '../../../server/features/invitations/model.ts';
import type { MemberModel, MemberPage, UpdateMemberBody } from '../../../server/features/members/model.ts';
import type {
  OidcExchangeBody,
  OidcProviderList,
  OidcProviderModel,
} from '../../../server/features/oidc/model.ts';
import type {
  CreateOrganizationBody,
  OrganizationModel,
  OrganizationPage,
  UpdateOrganizationBody,
} from '../../../server/features/organizations/model.ts';
import type {
  SessionList,
  SessionModel,
  SwitchTenantResponse,
  TokenPair,
} from '../../../server/features/sessions/model.ts';
import type { CreditTransactionModel } from '../../../server/features/shared-model.ts';
import type {
  BrandingModel,
  TenantSettings,
  UpdateTenantBody,
} from '../../../server/features/tenant/model.ts';
import type {
  CreateWebhookEndpointBody,
  deliveryStatuses,
  endpointOrderings,
  UpdateWebhookEndpointBody,
  WebhookDeliveryModel,
  WebhookEndpointModel,
  WithSecret,
} from '../../../server/features/webhooks/model.ts';
import { readAccessTokenClaims } from './access-token';

/**
 * Typed client for the Wrapper API (same origin, `/v1`).
 *
 * The access and refresh tokens live in localStorage so a reload keeps the session; every request sends
 * `Authorization: Bearer <accessToken>`. Errors are RFC 9457 problem documents, surfaced as {@link ApiError}.
 *
 * The shapes are the server's own: each type below is the static type of the TypeBox model the route
 * declares (imported as types only, so nothing of the server reaches the bundle).
 */

export type User = UserModel;
export type Tenant = TenantModel;
export type Organization = OrganizationModel;
/** A tenant the user can sign in to, as listed by the login call. */
export type TenantChoice = TenantChoiceModel;
export type Membership = MembershipModel;
export type CurrentIdentity = MeResponse;

export type SignUpInput = SignupBody;
export type SignUpResult = SignupResponse;
export type LogInInput = LoginBody;
export type LogInResult = LoginResponse;
export type { TokenPair };
export type SwitchTenantResult = SwitchTenantResponse;

/** One signed-in device or browser of the caller. */
export type Session = SessionModel;

export type Permission = PermissionList['items'][number];
/** Built-in roles (owner, admin, billing, member, viewer) are shared by every tenant and read-only. */
export type Role = RoleModel;
// The permission keys come from the catalog (`listPermissions`), which answers them as strings; the server
// checks that each is a key of it.
export type CreateRoleInput = Omit<CreateRoleBody, 'permissions'> & { permissions: string[] };
export type UpdateRoleInput = Omit<UpdateRoleBody, 'permissions'> & { permissions?: string[] };

export type Member = MemberModel;
export type MemberStatus = Member['status'];
/** `organizationId` is `null` for a tenant-wide role; otherwise the organization the role is limited to. */
export type MemberRole = Member['roles'][number];
export type UpdateMemberInput = UpdateMemberBody;

export type ApiKey = ApiKeyModel;
/** `secret` is the whole key (`wr_…`); the server returns it from the create call only. */
export type { CreatedApiKey };
/** Scopes are permission keys, as the catalog answers them (see {@link CreateRoleInput}). */
export type CreateApiKeyInput = Omit<CreateApiKeyBody, 'scopes'> & { scopes: string[] };

export type Branding = BrandingModel;
export type { TenantSettings };
/** Only the fields given change; `null` clears one. */
export type UpdateTenantSettingsInput = UpdateTenantBody;

export type CreateOrganizationInput = CreateOrganizationBody;
export type UpdateOrganizationInput = UpdateOrganizationBody;

export type Invitation = InvitationModel;
/** `emailSent` is `false` when the invitation email could not be sent; the invitation exists all the same. */
export type CreatedInvitation = IssuedInvitationModel;
export type CreateInvitationInput = CreateInvitationBody;
export type { InvitationPreview };
/** `name` and `password` for a person new to Wrapper; `password` alone for an existing person. */
export type AcceptInvitationInput = AcceptInvitationBody;
export type AcceptInvitationResult = AcceptInvitationResponse;

/** An OpenID Connect provider people can sign in with: `id` goes in `/v1/auth/oidc/<id>/start`. */
export type OidcProvider = OidcProviderModel;

export interface OidcStartOptions {
  /** A path in the app to land on after signing in. */
  returnTo?: string;
  /** An invitation token to accept on the way in. */
  invitation?: string;
  /** The tenant to land in, if the person belongs to several. */
  tenantId?: string;
}

/** `code` is the single-use `si_…` code from the `/auth/oidc` fragment. */
export type ExchangeOidcCodeInput = OidcExchangeBody;

/** How credits moved: `amount` is signed (consume, reserve, expire and refund take credits away). */
export type CreditTransactionType =
  | 'grant'
  | 'purchase'
  | 'consume'
  | 'reserve'
  | 'capture'
  | 'release'
  | 'expire'
  | 'adjust'
  | 'refund';

/** One entry of the tenant's credit ledger; `type` is one of {@link CreditTransactionType}, kept open. */
export type CreditTransaction = CreditTransactionModel;
export type { CreditTransactionPage };
/** `lowBalanceThreshold`: falling below it raises a low-balance alert; `null` when the tenant has none. */
export type CreditBalance = CreditBalanceModel;

/** `amount` in the currency's minor units (cents); `currency` ISO 4217, lower case (`usd`). */
export type Price = NonNullable<CreditPackModel['price']>;
/** `price` is `null` for a plan that is not sold (free, or set by a platform admin). */
export type Plan = PlanModel;
export type CreditPack = CreditPackModel;
/** `checkoutAvailable`: whether Checkout and the Customer Portal can be used (Stripe is configured). */
export type BillingCatalog = PlansResponse;
export type Subscription = SubscriptionModel;
export type SubscriptionStatus = Subscription['status'];

/** What to buy through Checkout: a plan (a subscription) or a credit pack (a one-off payment); exactly one. */
export type CheckoutInput = CheckoutBody;

export const passwordMinLength = 8;
export const passwordMaxLength = 256;

/** One failing field of a validation problem. `path` is normalised to the field name (`email`, `parentId`). */
export interface FieldError {
  path: string;
  message: string;
}

/** An error answer from the API (or a failure to reach it, with `status` 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly requestId: string | undefined;
  readonly errors: FieldError[];
  /** Seconds to wait before trying again, from a rate-limited answer's `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(problem: {
    status: number;
    type?: string;
    title: string;
    detail?: string;
    requestId?: string;
    errors?: FieldError[];
    retryAfterSeconds?: number;
  }) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
    this.status = problem.status;
    this.type = problem.type ?? 'about:blank';
    this.title = problem.title;
    this.detail = problem.detail;
    this.requestId = problem.requestId;
    this.errors = problem.errors ?? [];
    this.retryAfterSeconds = problem.retryAfterSeconds;
  }

  /** Whether the problem has this code (`type` is `/problems/<code>`), e.g. `last-owner`. */
  is(code: string): boolean {
    return this.type === `/problems/${code}`;
  }

  /** The message for one field of a validation problem, if that field failed. */
  fieldError(field: string): string | undefined {
    return this.errors.find((error) => error.path === field)?.message;
  }

  /** What to show a person: the detail when the server gave one, else the title. */
  get summary(): string {
    return this.detail ?? this.title;
  }
}

const accessTokenKey = 'wrapper.accessToken';
const refreshTokenKey = 'wrapper.refreshToken';

export interface SessionTokens {
  accessToken: string;
  refreshToken: string | null;
}

export function readSessionTokens(): SessionTokens | null {
  const accessToken = localStorage.getItem(accessTokenKey);
  if (!accessToken) return null;
  return { accessToken, refreshToken: localStorage.getItem(refreshTokenKey) };
}

export function hasSession(): boolean {
  return readSessionTokens() !== null;
}

function storeSessionTokens(tokens: SessionTokens): void {
  localStorage.setItem(accessTokenKey, tokens.accessToken);
  if (tokens.refreshToken) localStorage.setItem(refreshTokenKey, tokens.refreshToken);
  else localStorage.removeItem(refreshTokenKey);
}

export function clearSessionTokens(): void {
  localStorage.removeItem(accessTokenKey);
  localStorage.removeItem(refreshTokenKey);
}

/**
 * Calls `listener` when another tab changes the stored session: signs out (`signedIn` false), refreshes or
 * switches tenant. The tokens are shared, so this tab then acts with them too. Returns the unsubscribe.
 */
export function onSessionChangedElsewhere(listener: (change: { signedIn: boolean }) => void): () => void {
  const handleStorage = (event: StorageEvent) => {
    if (event.key !== accessTokenKey && event.key !== null) return;
    listener({ signedIn: hasSession() });
  };
  window.addEventListener('storage', handleStorage);
  return () => window.removeEventListener('storage', handleStorage);
}

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Send the stored access token. */
  authenticated?: boolean;
}

async function request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const authenticated = options.authenticated ?? true;
  const sentWith = authenticated ? (readSessionTokens()?.accessToken ?? undefined) : undefined;
  let response = await send(method, path, options, authenticated);
  if (response.status === 401 && authenticated && (await refreshSessionTokens(sentWith))) {
    response = await send(method, path, options, authenticated);
  }
  if (!response.ok) {
    const problem = await readProblem(response);
    if (problem.status === 403 && authenticated) notifyForbidden(problem, method, path);
    throw problem;
  }
  return response;
}

type ForbiddenListener = (refusal: { problem: ApiError; method: string; path: string }) => void;

const forbiddenListeners = new Set<ForbiddenListener>();

/**
 * Calls `listener` whenever a signed-in call is refused with 403: the person's roles may have changed since
 * the identity was loaded, so the app reloads it and hides what is no longer allowed. Returns the unsubscribe.
 */
export function onForbidden(listener: ForbiddenListener): () => void {
  forbiddenListeners.add(listener);
  return () => forbiddenListeners.delete(listener);
}

function notifyForbidden(problem: ApiError, method: string, path: string): void {
  for (const listener of forbiddenListeners) {
    try {
      listener({ problem, method, path });
    } catch {
      // A listener's failure must not hide the refusal from the caller.
    }
  }
}

export async function requestJson<Result>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Result> {
  const response = await request(method, path, options);
  // The server's OpenAPI schema is the contract for these shapes; the client does not re-validate them.
  return (await response.json()) as Result;
}

async function send(
  method: string,
  path: string,
  options: RequestOptions,
  authenticated: boolean,
): Promise<Response> {
  const headers = new Headers({ accept: 'application/json, application/problem+json' });
  if (options.body !== undefined) headers.set('content-type', 'application/json');
  const tokens = authenticated ? readSessionTokens() : null;
  if (tokens) headers.set('authorization', `Bearer ${tokens.accessToken}`);

  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }

  try {
    return await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError({
      status: 0,
      title: 'Could not reach the server',
      detail: 'Check your connection and try again.',
    });
  }
}

let refreshInFlight: Promise<boolean> | null = null;

/**
 * Trades the refresh token for a new pair, once at a time in this tab and, through a Web Lock, across
 * tabs: every refresh token works once, and presenting a spent one ends the session on the server.
 * `staleAccessToken` is the token that was refused; if another tab has refreshed meanwhile, the stored
 * pair is already new and no refresh is needed.
 */
function refreshSessionTokens(staleAccessToken?: string): Promise<boolean> {
  refreshInFlight ??= withRefreshLock(async () => {
    try {
      const stored = readSessionTokens();
      if (!stored?.refreshToken) return false;
      if (staleAccessToken && stored.accessToken && stored.accessToken !== staleAccessToken) return true;
      const response = await send(
        'POST',
        '/v1/auth/refresh',
        { body: { refreshToken: stored.refreshToken } },
        false,
      );
      if (!response.ok) {
        clearSessionTokens();
        return false;
      }
      const pair = (await response.json()) as TokenPair;
      storeSessionTokens(pair);
      return true;
    } catch {
      return false;
    } finally {
      refreshInFlight = null;
    }
  });
  return refreshInFlight;
}

/**
 * The stored access token, refreshed first when it has expired or expires within `minValiditySeconds`:
 * for long-lived connections (the realtime socket) that present a token without a request to retry.
 * Refreshing goes through the same once-at-a-time, cross-tab path as a refused request. Throws a 401
 * {@link ApiError} when there is no session or it cannot be refreshed any more (the session ended).
 */
export async function freshAccessToken(minValiditySeconds = 30): Promise<string> {
  const stored = readSessionTokens();
  if (!stored) throw notSignedIn();
  const expiresAt = readAccessTokenClaims(stored.accessToken)?.expiresAt ?? null;
  if (expiresAt === null || expiresAt - Date.now() > minValiditySeconds * 1000) return stored.accessToken;
  const fresh = (await refreshSessionTokens(stored.accessToken)) ? readSessionTokens() : null;
  if (!fresh) throw notSignedIn();
  return fresh.accessToken;
}

function notSignedIn(): ApiError {
  return new ApiError({ status: 401, title: 'Authentication required', detail: 'Sign in again.' });
}

function withRefreshLock(work: () => Promise<boolean>): Promise<boolean> {
  if (typeof navigator !== 'undefined' && navigator.locks) {
    // The lock resolves with what `work` resolves with; `then` tells the DOM typings so.
    return navigator.locks.request('wrapper-token-refresh', work).then((result) => result);
  }
  return work();
}

async function readProblem(response: Response): Promise<ApiError> {
  const requestIdHeader = response.headers.get('x-request-id') ?? undefined;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const problem = isRecord(body) ? body : {};
  return new ApiError({
    status: typeof problem.status === 'number' ? problem.status : response.status,
    type: stringOrUndefined(problem.type),
    title: stringOrUndefined(problem.title) ?? (response.statusText || `Request failed (${response.status})`),
    detail: stringOrUndefined(problem.detail),
    requestId: stringOrUndefined(problem.requestId) ?? requestIdHeader,
    errors: Array.isArray(problem.errors) ? problem.errors.flatMap(readFieldError) : [],
    retryAfterSeconds: readRetryAfterSeconds(response.headers.get('retry-after')),
  });
}

/** `Retry-After` is either a number of seconds or an HTTP date. */
function readRetryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function readFieldError(value: unknown): FieldError[] {
  if (!isRecord(value)) return [];
  const path = stringOrUndefined(value.path) ?? stringOrUndefined(value.field) ?? '';
  const message = stringOrUndefined(value.message) ?? 'Invalid value';
  // Validation paths arrive as JSON pointers ("/email") or dotted paths ("body.email"); forms key by name.
  const field = path
    .replace(/^\//, '')
    .replace(/^body[./]/, '')
    .replaceAll('/', '.');
  return [{ path: field, message }];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export async function signUp(input: SignUpInput): Promise<SignUpResult> {
  const result = await requestJson<SignUpResult>('POST', '/v1/auth/signup', {
    body: input,
    authenticated: false,
  });
  storeSessionTokens(result);
  return result;
}

export function logIn(input: LogInInput): Promise<LogInResult> {
  return signIn('/v1/auth/login', input);
}

/** A sign-in call (password or provider code): its answer is the same, and so is the stored session. */
async function signIn(path: string, body: LogInInput | ExchangeOidcCodeInput): Promise<LogInResult> {
  const result = await requestJson<LogInResult>('POST', path, { body, authenticated: false });
  storeSessionTokens(result);
  return result;
}

/** The OpenID Connect providers the server offers for sign-in; none when it has none configured. */
export async function oidcProviders(): Promise<OidcProvider[]> {
  const list = await requestJson<OidcProviderList>('GET', '/v1/auth/oidc/providers', {
    authenticated: false,
  });
  return list.items;
}

/** The server refuses any other `returnTo` (another origin, `//host`, `/\host`, whitespace). */
const inAppPath = /^\/(?![/\\])\S*$/;

/**
 * Where the browser goes to sign in with a provider: a full-page navigation (never `fetch`), which
 * redirects to the provider and comes back to `/auth/oidc`. A `returnTo` that is not a path in the app is
 * left out rather than refused.
 */
export function oidcStartUrl(providerId: string, options: OidcStartOptions = {}): string {
  const query = new URLSearchParams();
  if (options.returnTo && options.returnTo.length <= 2048 && inAppPath.test(options.returnTo)) {
    query.set('returnTo', options.returnTo);
  }
  if (options.invitation) query.set('invitation', options.invitation);
  if (options.tenantId) query.set('tenantId', options.tenantId);
  const search = query.toString();
  return `/v1/auth/oidc/${encodeURIComponent(providerId)}/start${search ? `?${search}` : ''}`;
}

/**
 * Trades the code a provider sign-in ended with for a session, stored like a password sign-in's. The code
 * works once, for two minutes: a spent or expired one is refused with 401.
 */
export function exchangeOidcCode(input: ExchangeOidcCodeInput): Promise<LogInResult> {
  return signIn('/v1/auth/oidc/exchange', input);
}

/** Revokes the session on the server when it can; the local tokens are dropped either way. */
export async function logOut(): Promise<void> {
  try {
    if (hasSession()) await request('POST', '/v1/auth/logout');
  } catch {
    // Signing out must always work locally, even when the server is unreachable or the token expired.
  } finally {
    clearSessionTokens();
  }
}

export function fetchCurrentIdentity(): Promise<CurrentIdentity> {
  return requestJson<CurrentIdentity>('GET', '/v1/me');
}

export function listOrganizations(page: { limit?: number; cursor?: string } = {}): Promise<OrganizationPage> {
  return requestJson<OrganizationPage>('GET', '/v1/organizations', {
    query: { limit: page.limit, cursor: page.cursor },
  });
}

/** Every organization of the tenant, following `nextCursor` to the end. */
export async function listAllOrganizations(): Promise<Organization[]> {
  const organizations: Organization[] = [];
  let cursor: string | undefined;
  do {
    const page = await listOrganizations({ limit: 100, cursor });
    organizations.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return organizations;
}

export function getOrganization(id: string): Promise<Organization> {
  return requestJson<Organization>('GET', `/v1/organizations/${encodeURIComponent(id)}`);
}

export function createOrganization(input: CreateOrganizationInput): Promise<Organization> {
  return requestJson<Organization>('POST', '/v1/organizations', { body: input });
}

export function updateOrganization(id: string, input: UpdateOrganizationInput): Promise<Organization> {
  return requestJson<Organization>('PATCH', `/v1/organizations/${encodeURIComponent(id)}`, { body: input });
}

export async function deleteOrganization(id: string): Promise<void> {
  await request('DELETE', `/v1/organizations/${encodeURIComponent(id)}`);
}

/**
 * Moves this session to another tenant the user belongs to. The new pair replaces the stored one, so every
 * later call (and every other tab) acts in that tenant; the caller reloads the identity afterwards.
 */
export async function switchTenant(tenantId: string): Promise<SwitchTenantResult> {
  const result = await requestJson<SwitchTenantResult>('POST', '/v1/auth/switch-tenant', {
    body: { tenantId },
  });
  storeSessionTokens(result);
  return result;
}

export function listSessions(): Promise<SessionList> {
  return requestJson<SessionList>('GET', '/v1/auth/sessions');
}

export async function revokeSession(id: string): Promise<void> {
  await request('DELETE', `/v1/auth/sessions/${encodeURIComponent(id)}`);
}

export async function listPermissions(): Promise<Permission[]> {
  const catalog = await requestJson<PermissionList>('GET', '/v1/permissions');
  return catalog.items;
}

/** Built-in roles first, then the tenant's custom roles. */
export async function listRoles(): Promise<Role[]> {
  const page = await requestJson<RoleList>('GET', '/v1/roles');
  return page.items;
}

export function createRole(input: CreateRoleInput): Promise<Role> {
  return requestJson<Role>('POST', '/v1/roles', { body: input });
}

export function updateRole(id: string, input: UpdateRoleInput): Promise<Role> {
  return requestJson<Role>('PATCH', `/v1/roles/${encodeURIComponent(id)}`, { body: input });
}

export async function deleteRole(id: string): Promise<void> {
  await request('DELETE', `/v1/roles/${encodeURIComponent(id)}`);
}

export function listMembers(page: { limit?: number; cursor?: string } = {}): Promise<MemberPage> {
  return requestJson<MemberPage>('GET', '/v1/members', {
    query: { limit: page.limit, cursor: page.cursor },
  });
}

/** Every member of the tenant, following `nextCursor` to the end. */
export async function listAllMembers(): Promise<Member[]> {
  const members: Member[] = [];
  let cursor: string | undefined;
  do {
    const page = await listMembers({ limit: 100, cursor });
    members.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return members;
}

export function updateMember(userId: string, input: UpdateMemberInput): Promise<Member> {
  return requestJson<Member>('PATCH', `/v1/members/${encodeURIComponent(userId)}`, { body: input });
}

export async function removeMember(userId: string): Promise<void> {
  await request('DELETE', `/v1/members/${encodeURIComponent(userId)}`);
}

export async function listApiKeys(): Promise<ApiKey[]> {
  const page = await requestJson<ApiKeyList>('GET', '/v1/api-keys');
  return page.items;
}

export function createApiKey(input: CreateApiKeyInput): Promise<CreatedApiKey> {
  return requestJson<CreatedApiKey>('POST', '/v1/api-keys', { body: input });
}

export async function revokeApiKey(id: string): Promise<void> {
  await request('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
}

export function getTenantSettings(): Promise<TenantSettings> {
  return requestJson<TenantSettings>('GET', '/v1/tenant');
}

export function updateTenantSettings(input: UpdateTenantSettingsInput): Promise<TenantSettings> {
  return requestJson<TenantSettings>('PATCH', '/v1/tenant', { body: input });
}

export function createInvitation(input: CreateInvitationInput): Promise<CreatedInvitation> {
  return requestJson<CreatedInvitation>('POST', '/v1/invitations', { body: input });
}

/** The pending invitations of the tenant. */
export async function listInvitations(): Promise<Invitation[]> {
  const page = await requestJson<InvitationList>('GET', '/v1/invitations');
  return page.items;
}

/** What an invitation link is for, before accepting it (the token is the key; no sign-in needed). */
export function previewInvitation(token: string): Promise<InvitationPreview> {
  return requestJson<InvitationPreview>('GET', '/v1/invitations/preview', {
    query: { token },
    authenticated: false,
  });
}

/** Withdraws a pending invitation: its link stops working. */
export async function withdrawInvitation(id: string): Promise<void> {
  await request('DELETE', `/v1/invitations/${encodeURIComponent(id)}`);
}

/** Sends the invitation again with a new link; the old link stops working. */
export function resendInvitation(id: string): Promise<CreatedInvitation> {
  return requestJson<CreatedInvitation>('POST', `/v1/invitations/${encodeURIComponent(id)}/resend`);
}

/**
 * Joins the inviting tenant. `asSignedInPerson` sends the stored access token (the invited person is signed
 * in); otherwise `name` + `password` (new person) or `password` (existing person) identify them. The
 * returned pair, for the joined tenant, replaces the stored one.
 */
export async function acceptInvitation(
  input: AcceptInvitationInput,
  options: { asSignedInPerson?: boolean } = {},
): Promise<AcceptInvitationResult> {
  const result = await requestJson<AcceptInvitationResult>('POST', '/v1/invitations/accept', {
    body: input,
    authenticated: options.asSignedInPerson ?? false,
  });
  storeSessionTokens(result);
  return result;
}

export async function verifyEmail(token: string): Promise<void> {
  await request('POST', '/v1/auth/verify-email', { body: { token }, authenticated: false });
}

export async function resendEmailVerification(): Promise<VerificationResentModel> {
  return requestJson<VerificationResentModel>('POST', '/v1/auth/verify-email/resend');
}

/** Always accepted, whether or not an account has this email: the answer reveals nothing. */
export async function requestPasswordReset(email: string): Promise<void> {
  await request('POST', '/v1/auth/password/forgot', { body: { email }, authenticated: false });
}

/** Sets a new password from an emailed link; every session of the account ends. */
export async function resetPassword(token: string, password: string): Promise<void> {
  await request('POST', '/v1/auth/password/reset', { body: { token, password }, authenticated: false });
}

export function getCreditBalance(): Promise<CreditBalance> {
  return requestJson<CreditBalance>('GET', '/v1/credits');
}

/** One page of the credit ledger, newest first. */
export function listCreditTransactions(
  page: { limit?: number; cursor?: string } = {},
): Promise<CreditTransactionPage> {
  return requestJson<CreditTransactionPage>('GET', '/v1/credits/transactions', {
    query: { limit: page.limit, cursor: page.cursor },
  });
}

export function getBillingCatalog(): Promise<BillingCatalog> {
  return requestJson<BillingCatalog>('GET', '/v1/billing/plans');
}

export function getSubscription(): Promise<Subscription> {
  return requestJson<Subscription>('GET', '/v1/billing/subscription');
}

/** A Stripe Checkout session for a plan or a credit pack: the browser goes to `url` to pay. */
export function startCheckout(input: CheckoutInput): Promise<RedirectModel> {
  return requestJson<RedirectModel>('POST', '/v1/billing/checkout', { body: input });
}

/** A Stripe Customer Portal session, where payment details and invoices are managed. */
export function openBillingPortal(): Promise<RedirectModel> {
  return requestJson<RedirectModel>('POST', '/v1/billing/portal');
}

/** One entry of the tenant's audit trail, with its place (`seq`, `hash`) in the tamper-evident chain. */
export type { AuditCheckpoint, AuditEntry, AuditVerdict };
export type AuditActionInfo = AuditActionCatalog['actions'][number];

/**
 * What the audit trail is narrowed to, as the query string carries it (all optional, all applying together):
 * `from` and `to` are ISO instants (`to` exclusive), `q` searches actor and target names and the action.
 * Values go to the server as they are: it judges them (422 naming the field).
 */
export interface AuditQuery {
  actorId?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  outcome?: string;
  from?: string;
  to?: string;
  q?: string;
}

export interface AuditEntryPage {
  items: AuditEntry[];
  nextCursor: string | null;
}

/** Every audit action, with its description and the kinds of target it names (public, like the event catalog). */
export async function getAuditCatalog(): Promise<AuditActionInfo[]> {
  const catalog = await requestJson<AuditActionCatalog>('GET', '/v1/audit-logs/catalog');
  return catalog.actions;
}

/** One page of the audit trail, newest first. The read is itself recorded (`audit.read`). */
export function listAuditEntries(
  filters: AuditQuery,
  page: { limit?: number; cursor?: string } = {},
): Promise<AuditEntryPage> {
  return requestJson<AuditEntryPage>('GET', '/v1/audit-logs', {
    query: { ...filters, limit: page.limit, cursor: page.cursor },
  });
}

/** Recomputes the tenant's chain on the server and checks it against the signed checkpoints. */
export function verifyAuditChain(): Promise<AuditVerdict> {
  return requestJson<AuditVerdict>('GET', '/v1/audit-logs/verify');
}

/** Signs the chain's head now (a checkpoint attests what is there; it changes no data). */
export function signAuditCheckpoint(): Promise<AuditCheckpoint> {
  return requestJson<AuditCheckpoint>('POST', '/v1/audit-logs/checkpoints');
}

/**
 * The entries matching `filters` as a file (oldest first), with the name the server gives it. Fetched with
 * the access token (a plain link would not carry it); the export is itself recorded (`audit.exported`).
 */
export async function exportAuditEntries(
  format: 'ndjson' | 'csv',
  filters: AuditQuery,
): Promise<{ blob: Blob; filename: string }> {
  const response = await request('GET', '/v1/audit-logs/export', { query: { format, ...filters } });
  const disposition = response.headers.get('content-disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `audit-log.${format}`;
  return { blob: await response.blob(), filename };
}

/** Every event type, with its channel, and every channel with the permission reading it needs (public). */
export type { EventCatalog };
export type EventTypeInfo = EventCatalog['events'][number];
export type EventChannelInfo = EventCatalog['channels'][number];

export function getEventCatalog(): Promise<EventCatalog> {
  return requestJson<EventCatalog>('GET', '/v1/events/catalog', { authenticated: false });
}

/**
 * A webhook endpoint with its health. `eventTypes` `null` means every deliverable type; `disabledReason` is
 * `manual`, `gone` (it answered 410) or `failing` (it failed for days) while `enabled` is false.
 */
export type WebhookEndpoint = WebhookEndpointModel;
/** An endpoint as created or rotated: `secret` (`whsec_…`) is in that answer only. */
export type WebhookEndpointWithSecret = WithSecret;
export type CreateWebhookEndpointInput = CreateWebhookEndpointBody;
export type UpdateWebhookEndpointInput = UpdateWebhookEndpointBody;
/** One message to one endpoint, with every attempt made (`attemptLog`, oldest first). */
export type WebhookDelivery = WebhookDeliveryModel;
export type WebhookAttempt = WebhookDelivery['attemptLog'][number];
/** `pending` (on its way, or waiting for a retry), `succeeded`, `failed` (given up), `cancelled`. */
export type WebhookDeliveryStatus = (typeof deliveryStatuses)[number];
/** `per-endpoint`: one message at a time, in the log's order; a failing one holds the later ones back. */
export type WebhookOrdering = (typeof endpointOrderings)[number];

/** What the delivery log is narrowed to (all optional, applying together). */
export interface WebhookDeliveryQuery {
  endpointId?: string;
  status?: WebhookDeliveryStatus;
  eventType?: string;
}

export interface WebhookDeliveryPage {
  items: WebhookDelivery[];
  nextCursor: string | null;
}

const endpointPath = (id: string) => `/v1/webhooks/endpoints/${encodeURIComponent(id)}`;

export async function listWebhookEndpoints(): Promise<WebhookEndpoint[]> {
  const list = await requestJson<{ items: WebhookEndpoint[] }>('GET', '/v1/webhooks/endpoints');
  return list.items;
}

export function createWebhookEndpoint(input: CreateWebhookEndpointInput): Promise<WebhookEndpointWithSecret> {
  return requestJson<WebhookEndpointWithSecret>('POST', '/v1/webhooks/endpoints', { body: input });
}

/** Only the fields given change; `enabled: true` starts a disabled endpoint afresh. */
export function updateWebhookEndpoint(
  id: string,
  input: UpdateWebhookEndpointInput,
): Promise<WebhookEndpoint> {
  return requestJson<WebhookEndpoint>('PATCH', endpointPath(id), { body: input });
}

/** Removes the endpoint and its delivery log. */
export async function deleteWebhookEndpoint(id: string): Promise<void> {
  await request('DELETE', endpointPath(id));
}

/** A new signing secret (in this answer only); the old one keeps signing for `graceSeconds` beside it. */
export function rotateWebhookSecret(id: string, graceSeconds = 86_400): Promise<WebhookEndpointWithSecret> {
  return requestJson<WebhookEndpointWithSecret>('POST', `${endpointPath(id)}/rotate-secret`, {
    query: { graceSeconds },
  });
}

/** Sends a `webhook.test` event to this endpoint only (refused with 409 while it is disabled). */
export function sendWebhookTest(id: string): Promise<{ eventId: string; seq: number }> {
  return requestJson<{ eventId: string; seq: number }>('POST', `${endpointPath(id)}/test`);
}

/** Sends again every message to this endpoint given up since `since` (an ISO instant). */
export function recoverWebhookEndpoint(id: string, since: string): Promise<{ queued: number }> {
  return requestJson<{ queued: number }>('POST', `${endpointPath(id)}/recover`, { body: { since } });
}

/** One page of the delivery log, newest first, each delivery with its attempts. */
export function listWebhookDeliveries(
  filters: WebhookDeliveryQuery,
  page: { limit?: number; cursor?: string } = {},
): Promise<WebhookDeliveryPage> {
  return requestJson<WebhookDeliveryPage>('GET', '/v1/webhooks/deliveries', {
    query: { ...filters, limit: page.limit, cursor: page.cursor },
  });
}

/** Sends one message again, as a new delivery with the same `webhook-id` (receivers drop a duplicate). */
export function replayWebhookDelivery(id: string): Promise<WebhookDelivery> {
  return requestJson<WebhookDelivery>('POST', `/v1/webhooks/deliveries/${encodeURIComponent(id)}/replay`);
}

/** Whatever a call threw, as an {@link ApiError} a form can show. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError({
    status: 0,
    title: 'Something went wrong',
    detail: error instanceof Error ? error.message : undefined,
  });
}

/** Spends the one-time setup link printed at the server's first start: the signed-in person becomes the platform admin. */
export async function redeemPlatformSetup(token: string): Promise<void> {
  await request('POST', '/v1/admin/setup', { body: { token } });
}

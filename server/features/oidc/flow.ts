import { timingSafeEqual } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import * as oidc from 'openid-client';
import type { OidcProviderConfig } from '../../config.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { OidcProviderModel } from './model.ts';

/** What the browser carries between the start of a sign-in and the provider's callback. */
export interface OidcFlow {
  provider: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** A path in the app to land on afterwards. */
  returnTo?: string;
  /** An invitation token to accept on the way in. */
  invitation?: string;
  tenantId?: string;
}

/** What the provider vouched for about the person. */
export interface OidcPerson {
  provider: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
}

export const FLOW_COOKIE = 'wr_oidc';
const FLOW_TTL_SECONDS = 600;
/** A failed discovery is retried after this long, not on every click. */
const DISCOVERY_RETRY_MS = 15_000;

export interface OidcSignIn {
  providers(): OidcProviderModel[];
  /** The provider's authorization URL and the encrypted flow to keep in a cookie. */
  start(
    providerId: string,
    options: { returnTo?: string; invitation?: string; tenantId?: string },
  ): Promise<{ url: string; flowCookie: string }>;
  /** Checks the callback against the flow and the provider's tokens; answers who signed in. */
  finish(
    providerId: string,
    callback: URLSearchParams,
    flowCookie: string | undefined,
  ): Promise<{ person: OidcPerson; flow: OidcFlow }>;
  callbackUrl(providerId: string): string;
  cookieOptions(): { path: string; secure: boolean; maxAge: number };
}

async function flowKey(secret: string): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), 'HKDF', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new Uint8Array(0),
      info: new TextEncoder().encode('wrapper oidc flow cookie v1'),
    },
    material,
    256,
  );
  return new Uint8Array(bits);
}

const sameSecret = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/** True when somewhere in the error's cause chain a claim named `claim` failed its comparison. */
function failedClaim(error: unknown, claim: string): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return false;
    if ((current as { claim?: unknown }).claim === claim) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

const isNetworkFailure = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'TimeoutError' ||
    error.name === 'AbortError' ||
    /ECONNREFUSED|ECONNRESET|fetch failed|Unable to connect|ConnectionRefused/i.test(
      `${error.message} ${(error as { code?: string }).code ?? ''}`,
    ));

/**
 * Sign-in with OpenID Connect providers: authorization code flow with PKCE (S256), `state` bound to the
 * browser by an encrypted, HttpOnly cookie, and the ID token's signature, issuer, audience, expiry and
 * `nonce` checked by `openid-client`. Provider metadata is discovered on first use and kept.
 */
export function createOidcSignIn(options: {
  providers: OidcProviderConfig[];
  /** Public origin of the app and API; callbacks are `<appUrl>/v1/auth/oidc/<id>/callback`. */
  appUrl: string;
  /** Secret the flow-cookie key is derived from (the JWT secret). */
  secret: string;
  logger: Logger;
  timeoutMs?: number;
}): OidcSignIn {
  const byId = new Map(options.providers.map((provider) => [provider.id, provider]));
  const discovered = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();
  const key = flowKey(options.secret);
  const appUrl = options.appUrl.replace(/\/+$/, '');
  const secure = appUrl.startsWith('https:');

  function providerOf(id: string): OidcProviderConfig {
    const provider = byId.get(id);
    if (!provider) throw new AppError('oidc-unknown-provider', `No sign-in provider "${id}" is configured.`);
    return provider;
  }

  function configurationOf(provider: OidcProviderConfig): Promise<oidc.Configuration> {
    const cached = discovered.get(provider.id);
    if (cached) return cached.config;
    const issuer = new URL(provider.issuer);
    const config = oidc
      .discovery(issuer, provider.clientId, undefined, oidc.ClientSecretBasic(provider.clientSecret), {
        timeout: Math.ceil((options.timeoutMs ?? 10_000) / 1000),
        // Plain http only for a provider on loopback; the config refuses it anywhere else.
        ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((error: unknown) => {
        options.logger.warn({ err: error, provider: provider.id }, 'OpenID Connect discovery failed');
        setTimeout(() => discovered.delete(provider.id), DISCOVERY_RETRY_MS).unref?.();
        throw new AppError(
          'oidc-provider-unavailable',
          `${provider.name} cannot be reached right now; try again shortly.`,
        );
      });
    discovered.set(provider.id, { at: Date.now(), config });
    return config;
  }

  const callbackUrl = (id: string) => `${appUrl}/v1/auth/oidc/${id}/callback`;

  return {
    providers: () => options.providers.map(({ id, name }) => ({ id, name })),
    callbackUrl,
    cookieOptions: () => ({ path: '/v1/auth/oidc', secure, maxAge: FLOW_TTL_SECONDS }),

    async start(providerId, input) {
      const provider = providerOf(providerId);
      const config = await configurationOf(provider);
      const flow: OidcFlow = {
        provider: provider.id,
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        ...(input.returnTo ? { returnTo: input.returnTo } : {}),
        ...(input.invitation ? { invitation: input.invitation } : {}),
        ...(input.tenantId ? { tenantId: input.tenantId } : {}),
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: callbackUrl(provider.id),
        scope: provider.scopes,
        response_type: 'code',
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(flow.codeVerifier),
        code_challenge_method: 'S256',
      });
      const flowCookie = await new EncryptJWT({ flow })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuedAt()
        .setExpirationTime(`${FLOW_TTL_SECONDS}s`)
        .encrypt(await key);
      return { url: url.href, flowCookie };
    },

    async finish(providerId, callback, flowCookie) {
      const provider = providerOf(providerId);
      let flow: OidcFlow | undefined;
      if (flowCookie) {
        try {
          const { payload } = await jwtDecrypt(flowCookie, await key, { clockTolerance: 5 });
          flow = payload.flow as OidcFlow;
        } catch {
          flow = undefined;
        }
      }
      // Without the browser's own flow the callback could be someone else's (login CSRF).
      if (!flow || flow.provider !== provider.id) {
        throw new AppError(
          'oidc-flow-missing',
          'This sign-in was not started in this browser, or took too long.',
        );
      }
      const error = callback.get('error');
      if (error) {
        const description = callback.get('error_description')?.slice(0, 300);
        throw new AppError('oidc-denied', description ? `${provider.name}: ${description}` : undefined, {
          providerError: error.slice(0, 100),
        });
      }
      const state = callback.get('state');
      if (!state || !sameSecret(state, flow.state)) {
        throw new AppError(
          'oidc-state-mismatch',
          'The answer from the provider does not belong to this sign-in.',
        );
      }
      const config = await configurationOf(provider);
      // The redirect URI is the configured public one, whatever address the request arrived at.
      const currentUrl = new URL(callbackUrl(provider.id));
      for (const [name, value] of callback) currentUrl.searchParams.append(name, value);
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (cause) {
        if (failedClaim(cause, 'nonce')) {
          throw new AppError('oidc-nonce-mismatch', 'The ID token was not issued for this sign-in.');
        }
        options.logger.warn({ err: cause, provider: provider.id }, 'OpenID Connect code exchange failed');
        if (isNetworkFailure(cause)) {
          throw new AppError('oidc-provider-unavailable', `${provider.name} cannot be reached right now.`);
        }
        throw new AppError('oidc-failed', `${provider.name} did not confirm the sign-in; start again.`);
      }
      const claims = tokens.claims();
      if (!claims?.sub) throw new AppError('oidc-failed', 'The provider sent no subject.');
      let profile: Record<string, unknown> = claims;
      // Many providers put email and name only in the UserInfo response, not in the ID token.
      if (typeof claims.email !== 'string' && config.serverMetadata().userinfo_endpoint) {
        try {
          profile = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)), ...claims };
        } catch (cause) {
          options.logger.warn({ err: cause, provider: provider.id }, 'OpenID Connect UserInfo failed');
          throw new AppError('oidc-failed', `${provider.name} did not share the account's email address.`);
        }
      }
      const email = typeof profile.email === 'string' && profile.email.includes('@') ? profile.email : null;
      const name =
        typeof profile.name === 'string' && profile.name.trim()
          ? profile.name.trim().slice(0, 120)
          : [profile.given_name, profile.family_name]
              .filter((part) => typeof part === 'string')
              .join(' ')
              .trim() || null;
      return {
        flow,
        person: {
          provider: provider.id,
          subject: claims.sub,
          email: email?.trim().toLowerCase() ?? null,
          // Some providers send "true" as a string.
          emailVerified: profile.email_verified === true || profile.email_verified === 'true',
          name,
        },
      };
    },
  };
}

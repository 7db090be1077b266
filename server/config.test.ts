import { describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig, parseOidcProviders } from './config.ts';
import { runServerExpectingFailure, startServerProcess } from './testing/server-process.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  test('with nothing set, the embedded defaults apply', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      NODE_ENV: 'development',
      BODY_LIMIT_BYTES: 262_144,
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
  });

  test('values are converted and empty strings count as unset', () => {
    const config = parseConfig({ PORT: '8080', DATABASE_URL: '', LOG_LEVEL: 'debug' });
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  test('every bad value is listed at once, secrets are not echoed', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://user:hunter2@db/x',
      REDIS_URL: 'http://nope',
      LOG_LEVEL: 'loud',
      JWT_SECRET: 'short',
      SMTP_URL: 'http://mailer:s3cret@relay',
    });
    const keys = problems.map((problem) => problem.split(':')[0]);
    expect(keys).toEqual(
      expect.arrayContaining(['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'JWT_SECRET']),
    );
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems.join('\n')).not.toContain('s3cret');
    expect(keys).toContain('SMTP_URL');
    expect(problems.join('\n')).toContain('"eighty"');
  });

  test('out-of-range port and production without a JWT secret are refused', () => {
    expect(problemsOf({ PORT: '70000' })[0]).toStartWith('PORT:');
    expect(problemsOf({ NODE_ENV: 'production' })[0]).toStartWith('JWT_SECRET:');
  });

  test('the server refuses to start on a bad PORT, with a readable message', async () => {
    const result = await runServerExpectingFailure({ PORT: 'not-a-port', DATABASE_URL: undefined });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain('PORT');
  });

  test('the server refuses to start on a bad DATABASE_URL, with a readable message', async () => {
    const malformed = await runServerExpectingFailure({ DATABASE_URL: 'not a url' });
    expect(malformed.exitCode).toBe(1);
    expect(malformed.stderr).toContain('DATABASE_URL');

    // Well-formed but unreachable: nothing listens on port 1.
    const unreachable = await runServerExpectingFailure({
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr).toContain('The database could not be opened at DATABASE_URL');
  });

  test('a port that is already taken stops start-up instead of sharing it', async () => {
    const first = await startServerProcess({ DATA_DIR: mkdtempSync(join(tmpdir(), 'wrapper-port-a-')) });
    try {
      const port = new URL(first.baseUrl).port;
      const second = await runServerExpectingFailure({
        PORT: port,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'wrapper-port-b-')),
      });
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toContain(`Cannot listen on 127.0.0.1:${port}`);
    } finally {
      await first.stop();
    }
  });
});

describe('OpenID Connect providers in the configuration', () => {
  const oidcProblems = (env: Record<string, string>) => {
    try {
      parseOidcProviders(env, env.OIDC_PROVIDERS ?? '');
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  test('each listed provider is read from its own OIDC_<ID>_* settings', () => {
    const providers = parseOidcProviders(
      {
        OIDC_GOOGLE_ISSUER: 'https://accounts.google.com',
        OIDC_GOOGLE_CLIENT_ID: 'g-id',
        OIDC_GOOGLE_CLIENT_SECRET: 'g-secret',
        OIDC_MY_KINDE_ISSUER: 'https://acme.kinde.com',
        OIDC_MY_KINDE_CLIENT_ID: 'k-id',
        OIDC_MY_KINDE_CLIENT_SECRET: 'k-secret',
        OIDC_MY_KINDE_NAME: 'Acme SSO',
        OIDC_MY_KINDE_SCOPES: 'openid email',
      },
      'google, my-kinde',
    );
    expect(providers).toEqual([
      {
        id: 'google',
        name: 'Google',
        issuer: 'https://accounts.google.com',
        clientId: 'g-id',
        clientSecret: 'g-secret',
        scopes: 'openid email profile',
      },
      {
        id: 'my-kinde',
        name: 'Acme SSO',
        issuer: 'https://acme.kinde.com',
        clientId: 'k-id',
        clientSecret: 'k-secret',
        scopes: 'openid email',
      },
    ]);
    expect(parseOidcProviders({}, '')).toEqual([]);
  });

  test('every missing or bad setting is reported at once, never echoing a secret', () => {
    const problems = oidcProblems({
      OIDC_PROVIDERS: 'acme,Bad_Id,plain',
      OIDC_ACME_CLIENT_SECRET: 'super-secret-value',
      OIDC_ACME_SCOPES: 'email',
      OIDC_PLAIN_ISSUER: 'http://idp.example.com',
      OIDC_PLAIN_CLIENT_ID: 'id',
      OIDC_PLAIN_CLIENT_SECRET: 'another-secret',
    });
    expect(problems).toEqual([
      'OIDC_ACME_ISSUER: required for the "acme" provider',
      'OIDC_ACME_CLIENT_ID: required for the "acme" provider',
      'OIDC_ACME_SCOPES: must include openid (got "email")',
      'OIDC_PROVIDERS: "Bad_Id" is not a valid id (a-z, 0-9 and -, at most 32 characters)',
      'OIDC_PLAIN_ISSUER: must be an https URL (got "http://idp.example.com")',
    ]);
    expect(problems.join('\n')).not.toContain('secret-value');
    // Plain http is accepted on loopback only.
    expect(
      oidcProblems({
        OIDC_PROVIDERS: 'local',
        OIDC_LOCAL_ISSUER: 'http://127.0.0.1:9000',
        OIDC_LOCAL_CLIENT_ID: 'id',
        OIDC_LOCAL_CLIENT_SECRET: 'secret',
      }),
    ).toEqual([]);
  });

  test('a server with a half-configured provider does not start and names the setting', async () => {
    const result = await runServerExpectingFailure({
      DATA_DIR: mkdtempSync(join(tmpdir(), 'wrapper-oidc-config-')),
      OIDC_PROVIDERS: 'google',
      OIDC_GOOGLE_ISSUER: 'https://accounts.google.com',
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('OIDC_GOOGLE_CLIENT_ID: required');
    expect(result.stderr).toContain('OIDC_GOOGLE_CLIENT_SECRET: required');
  });
});

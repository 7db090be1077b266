import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type SignedUp, startTestApp, type TestApp } from '../testing/harness.ts';

// Found by the fuzz suite (server/security): a leap second passed the date-time format and reached
// Postgres as Invalid Date, answering 500. The format refuses it now (server/plugins/string-formats.ts).
const LEAP_SECONDS = ['2030-06-30T23:59:60Z', '2030-01-01T00:00:60Z', '2030-12-31T22:59:60-01:00'];

let app: TestApp;
let owner: SignedUp;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ organizationName: 'Leap Second Ltd' });
});
afterAll(() => app.dispose());

describe('a date-time naming a leap second', () => {
  for (const [route, body] of [
    ['/v1/credits/grants', { amount: 1, reason: 'leap' }],
    ['/v1/api-keys', { name: 'leap', scopes: ['org:read'] }],
  ] as const) {
    test(`POST ${route} answers 422 naming expiresAt`, async () => {
      for (const expiresAt of LEAP_SECONDS) {
        const response = await app.request('POST', route, {
          token: owner.token,
          body: { ...body, expiresAt },
        });
        expect(response.status).toBe(422);
        expect(response.headers.get('content-type')).toStartWith('application/problem+json');
        expect(response.body.type).toBe('/problems/validation-failed');
        expect(response.body.errors).toEqual([{ path: '/expiresAt', message: expect.any(String) }]);
      }
    });
  }
});

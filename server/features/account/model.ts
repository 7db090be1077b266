import { t } from 'elysia';

export const VerificationResentModel = t.Object({
  sent: t.Boolean({ description: 'false when already verified' }),
});
export type VerificationResentModel = typeof VerificationResentModel.static;

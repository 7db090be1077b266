import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import type { Logger } from '../../logger.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { ProblemModel } from '../shared-model.ts';
import { checkpointNow, listCheckpoints, readChainHead } from './checkpoints.ts';
import { AuditCheckpointModel } from './model.ts';
import type { AuditSigner } from './signing-key.ts';
import { verifyTenantChain } from './verify.ts';

const tags = ['audit'];

const BreakModel = t.Union([
  t.Literal('hash-mismatch'),
  t.Literal('entry-inserted'),
  t.Literal('seq-gap'),
  t.Literal('seq-out-of-order'),
  t.Literal('wrong-tenant'),
  t.Literal('malformed-entry'),
  t.Literal('checkpoint-mismatch'),
  t.Literal('checkpoint-missing-entry'),
  t.Literal('checkpoint-signature-invalid'),
  t.Literal('head-mismatch'),
]);

export const AuditVerdictModel = t.Object({
  valid: t.Boolean(),
  checked: t.Integer({ description: 'Entries whose hash was recomputed' }),
  firstBrokenId: t.Optional(
    t.String({ description: 'The first entry that does not verify, when one can be named' }),
  ),
  firstBrokenSeq: t.Optional(t.Integer({ description: 'Where the chain first breaks (also a missing seq)' })),
  reason: t.Optional(BreakModel),
  attestedThroughSeq: t.Union([t.Integer(), t.Null()], {
    description: 'Every entry up to this seq matches a signed checkpoint; later ones only chain to it',
  }),
  startSeq: t.Union([t.Integer(), t.Null()], {
    description: 'The first entry kept (older ones were pruned below a signed retention checkpoint)',
  }),
  checkpoint: t.Union([AuditCheckpointModel, t.Null()], {
    description: 'The newest signed checkpoint the chain was checked against',
  }),
});

export type AuditVerdict = typeof AuditVerdictModel.static;

export const AuditPublicKeyModel = t.Object({
  keyId: t.String({ description: 'Named by every checkpoint this key signs' }),
  algorithm: t.Literal('Ed25519'),
  publicKeyPem: t.String({ description: 'SPKI PEM' }),
  jwk: t.Object({ kty: t.Literal('OKP'), crv: t.Literal('Ed25519'), x: t.String() }),
  previousKeys: t.Array(t.Object({ keyId: t.String(), publicKeyPem: t.String() }), {
    description: 'Keys that signed earlier checkpoints, before a rotation (AUDIT_PREVIOUS_PUBLIC_KEYS)',
  }),
});

export interface AuditChainDeps extends AuthDeps {
  database: Database;
  auditSigner: AuditSigner;
  logger: Logger;
}

/**
 * The chain's tamper evidence (decision 0017): verification, the signed checkpoints and the key that
 * verifies them. The trail itself and its export are in `routes.ts`.
 */
export function auditChainRoutes(deps: AuditChainDeps) {
  const { database, auditSigner: signer } = deps;
  return new Elysia({ name: 'audit-chain-routes', prefix: '/v1/audit-logs' })
    .use(authentication(deps))
    .get(
      '/public-key',
      () => ({
        keyId: signer.keyId,
        algorithm: 'Ed25519' as const,
        publicKeyPem: signer.publicKeyPem,
        jwk: signer.publicJwk as { kty: 'OKP'; crv: 'Ed25519'; x: string },
        previousKeys: signer.previousKeys.map(({ keyId, publicKeyPem }) => ({ keyId, publicKeyPem })),
      }),
      {
        response: { 200: AuditPublicKeyModel },
        detail: {
          tags,
          summary: 'The public key that verifies audit checkpoints',
          description:
            'Public, like a JWKS: a verifier (`bun run audit:verify`) must be able to fetch it without an account. A public key reveals nothing that helps forge a signature. `previousKeys` verify the checkpoints signed before a key rotation.',
        },
      },
    )
    .get('/verify', ({ actor }) => verifyTenantChain(database, actor, { publicKey: signer.verifyKeys }), {
      auth: 'audit:read',
      response: { 200: AuditVerdictModel, 401: ProblemModel, 403: ProblemModel },
      detail: {
        tags,
        summary: "Verify the tenant's audit chain against its signed checkpoints",
        description:
          'Recomputes every link in seq order and checks the chain against the checkpoints signed with the current key. `reason` says what broke: `hash-mismatch` (an entry was changed or forged), `entry-inserted` (a forged entry was slid in, later ones renumbered), `seq-gap` (one was removed), `checkpoint-mismatch` (the chain was re-hashed), `checkpoint-missing-entry` (the newest entries were removed after a checkpoint), `checkpoint-signature-invalid` (a forged checkpoint), `head-mismatch` (the chain head disagrees with the last entry).',
      },
    })
    .get(
      '/checkpoints',
      ({ actor, query }) =>
        withTenant(database, actor, (db) =>
          listCheckpoints(db, actor.tenantId, {
            before: query.cursor === undefined ? undefined : Number(query.cursor),
            limit: query.limit ?? 50,
          }),
        ),
      {
        auth: 'audit:read',
        query: t.Object({
          limit: t.Optional(t.Integer({ title: 'limit', minimum: 1, maximum: 1000, default: 50 })),
          cursor: t.Optional(
            t.String({
              title: 'cursor',
              pattern: '^[0-9]{1,15}$',
              description: 'nextCursor of the previous page',
            }),
          ),
        }),
        response: {
          200: t.Object({
            items: t.Array(AuditCheckpointModel),
            nextCursor: t.Union([t.String(), t.Null()], {
              description: 'Pass as `cursor` for the next (older) page; null at the end',
            }),
          }),
          401: ProblemModel,
          403: ProblemModel,
          422: ProblemModel,
        },
        detail: {
          tags,
          summary: "The tenant's signed checkpoints, newest first",
          description:
            'Save the pages as a file for the offline verifier: `bun run audit:verify export.ndjson --public-key key.pem --checkpoints checkpoints.json`.',
        },
      },
    )
    .post(
      '/checkpoints',
      async ({ actor, set }) => {
        const head = await withTenant(database, actor, (db) => readChainHead(db));
        const { checkpoint, created } = await checkpointNow({ ...deps, signer }, actor.tenantId, head);
        set.status = created ? 201 : 200;
        return checkpoint;
      },
      {
        auth: 'audit:read',
        response: {
          200: AuditCheckpointModel,
          201: AuditCheckpointModel,
          401: ProblemModel,
          403: ProblemModel,
        },
        detail: {
          tags,
          summary: "Sign the tenant's chain head now",
          description:
            'Anyone who may read the trail may ask for its head to be signed: a checkpoint changes no data, it only attests what is there (201; 200 with the stored one when that seq is already signed). It is also written to the log.',
        },
      },
    );
}

import { openDatabase } from '../../db/client.ts';
import { withTenant } from '../../db/tenant.ts';
import { parseConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { systemWho } from '../features/audit/record.ts';
import { signUp } from '../features/auth/service.ts';
import { createOrganization } from '../features/organizations/service.ts';

/** `bun run db:seed`: a demo tenant with a small organization tree, and how to sign in to it. */
const config = parseConfig(process.env);
const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
const demo = {
  email: 'demo@wrapper.test',
  password: 'demo-password-123',
  name: 'Demo Owner',
  organizationName: 'Demo Company',
};

try {
  const created = await signUp(database, demo, {
    policy: {
      refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      maxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
    },
    context: { requestId: null, ip: null, userAgent: 'db:seed' },
  });
  const tenantId = created.tenant.id;
  await withTenant(database, tenantId, async (db) => {
    const create = (name: string, parentId: string) =>
      createOrganization(db, { tenantId, name, parentId, who: systemWho('db.seed') });
    const sales = await create('Sales', created.organization.id);
    await create('Sales EMEA', sales.id);
    await create('Engineering', created.organization.id);
  });
  console.log(`Demo tenant "${created.tenant.name}" created.`);
} catch (error) {
  if (!(error instanceof AppError && error.code === 'email-taken')) throw error;
  console.log('The demo tenant already exists.');
} finally {
  await database.close();
}
console.log(`Sign in at http://localhost:${config.PORT}/login with ${demo.email} / ${demo.password}`);

import { openDatabase } from '../../db/client.ts';
import { withTenant } from '../../db/tenant.ts';
import { parseConfig } from '../config.ts';
import { AppError } from '../errors.ts';
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
  const created = await signUp(database, demo);
  await withTenant(database, created.tenant.id, async (db) => {
    const sales = await createOrganization(db, {
      tenantId: created.tenant.id,
      name: 'Sales',
      parentId: created.organization.id,
    });
    await createOrganization(db, { tenantId: created.tenant.id, name: 'Sales EMEA', parentId: sales.id });
    await createOrganization(db, {
      tenantId: created.tenant.id,
      name: 'Engineering',
      parentId: created.organization.id,
    });
  });
  console.log(`Demo tenant "${created.tenant.name}" created.`);
} catch (error) {
  if (!(error instanceof AppError && error.code === 'email-taken')) throw error;
  console.log('The demo tenant already exists.');
} finally {
  await database.close();
}
console.log(`Sign in at http://localhost:${config.PORT}/login with ${demo.email} / ${demo.password}`);

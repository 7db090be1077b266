export * from './admin.ts';
export * from './api-keys.ts';
export * from './memberships.ts';
export * from './organizations.ts';
export * from './roles.ts';
export * from './sessions.ts';
export * from './tenants.ts';
export * from './users.ts';

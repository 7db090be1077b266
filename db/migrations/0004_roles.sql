CREATE TABLE "role_assignments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role_id" uuid NOT NULL,
	"organization_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "role_assignments_unique_grant" UNIQUE NULLS NOT DISTINCT("tenant_id","user_id","role_id","organization_id")
);
--> statement-breakpoint
CREATE TABLE "roles" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"permissions" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "roles_tenant_key_key" UNIQUE NULLS NOT DISTINCT("tenant_id","key")
);
--> statement-breakpoint
ALTER TABLE "memberships" DROP CONSTRAINT "memberships_role_check";--> statement-breakpoint
ALTER TABLE "role_assignments" ADD CONSTRAINT "role_assignments_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "role_assignments" ADD CONSTRAINT "role_assignments_membership_fk" FOREIGN KEY ("tenant_id","user_id") REFERENCES "public"."memberships"("tenant_id","user_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "role_assignments" ADD CONSTRAINT "role_assignments_organization_same_tenant_fk" FOREIGN KEY ("tenant_id","organization_id") REFERENCES "public"."organizations"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "roles" ADD CONSTRAINT "roles_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "role_assignments_tenant_user_idx" ON "role_assignments" USING btree ("tenant_id","user_id");--> statement-breakpoint
CREATE INDEX "roles_tenant_id_idx" ON "roles" USING btree ("tenant_id");--> statement-breakpoint
-- Built-in roles (ids and permissions mirror server/features/access/permissions.ts; a test checks).
INSERT INTO "roles" ("id", "tenant_id", "key", "name", "description", "permissions") VALUES
  ('00000000-0000-4000-8000-000000000001', NULL, 'owner', 'Owner', 'Everything, including billing and ownership', ARRAY['tenant:manage','org:read','org:write','members:read','members:invite','members:manage','roles:manage','api-keys:manage','credits:read','credits:consume','credits:grant','billing:manage','webhooks:manage','audit:read']),
  ('00000000-0000-4000-8000-000000000002', NULL, 'admin', 'Admin', 'Everything except billing', ARRAY['tenant:manage','org:read','org:write','members:read','members:invite','members:manage','roles:manage','api-keys:manage','credits:read','credits:consume','credits:grant','webhooks:manage','audit:read']),
  ('00000000-0000-4000-8000-000000000003', NULL, 'billing', 'Billing', 'Plan, payment and credits', ARRAY['org:read','members:read','credits:read','billing:manage']),
  ('00000000-0000-4000-8000-000000000004', NULL, 'member', 'Member', 'Works in the product and spends credits', ARRAY['org:read','members:read','credits:read','credits:consume']),
  ('00000000-0000-4000-8000-000000000005', NULL, 'viewer', 'Viewer', 'Reads only', ARRAY['org:read','members:read','credits:read']);
--> statement-breakpoint
-- Each membership's former role becomes a tenant-wide assignment. RLS is forced on memberships, so the
-- (possibly non-superuser) owner lifts it for this one copy.
ALTER TABLE "memberships" NO FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
INSERT INTO "role_assignments" ("id", "tenant_id", "user_id", "role_id")
  SELECT gen_random_uuid(), m."tenant_id", m."user_id", r."id"
  FROM "memberships" m JOIN "roles" r ON r."tenant_id" IS NULL AND r."key" = m."role";
--> statement-breakpoint
ALTER TABLE "memberships" FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE "memberships" DROP COLUMN "role";
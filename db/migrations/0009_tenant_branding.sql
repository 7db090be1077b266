ALTER TABLE "tenants" ADD COLUMN "logo_url" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "primary_color" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "custom_domain" text;--> statement-breakpoint
CREATE UNIQUE INDEX "tenants_custom_domain_key" ON "tenants" USING btree (lower("custom_domain"));--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_primary_color_check" CHECK ("tenants"."primary_color" ~ '^#[0-9a-f]{6}$');
CREATE TABLE "platform_setup_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"used_by" uuid
);
--> statement-breakpoint
-- Owner only: no grant to any request role, and RLS enabled with no policy in case one is ever granted.
ALTER TABLE platform_setup_tokens ENABLE ROW LEVEL SECURITY;

/**
 * Every audit action, with what it means and the kinds of target it names. `GET /v1/audit-logs/catalog`
 * serves it and the README lists it; the route-table test checks that each mutating route records one
 * of these. An action is `<object>.<what happened>`, past tense; failures keep the action and set
 * `outcome: failure`.
 */
export const auditCatalog = {
  // Sign-in and sessions
  'user.signed_up': { description: 'A person signed up, creating a tenant.', targets: ['user', 'tenant'] },
  'session.signed_in': {
    description: 'A person signed in (password or OpenID Connect).',
    targets: ['user', 'session'],
  },
  'session.sign_in_failed': {
    description: 'A sign-in was refused (wrong password, inactive account).',
    targets: ['user'],
  },
  'session.tenant_switched': {
    description: 'A person moved their sign-in to this tenant.',
    targets: ['user', 'session'],
  },
  'session.signed_out': { description: 'A person signed out.', targets: ['user', 'session'] },
  'session.revoked': { description: 'A session was ended from another one.', targets: ['user', 'session'] },
  'session.refresh_reuse_detected': {
    description: 'A used refresh token was presented again; the session was ended.',
    targets: ['user', 'session'],
  },
  'user.password_reset_requested': { description: 'A password reset link was asked for.', targets: ['user'] },
  'user.password_reset': { description: 'A password was set through a reset link.', targets: ['user'] },
  'user.email_verified': { description: 'A person confirmed their email address.', targets: ['user'] },
  'user.email_verification_sent': {
    description: 'The email confirmation link was sent again.',
    targets: ['user'],
  },
  // People and access
  'invitation.created': { description: 'Someone was invited to the tenant.', targets: ['invitation'] },
  'invitation.resent': { description: 'An invitation was sent again.', targets: ['invitation'] },
  'invitation.revoked': { description: 'An invitation was withdrawn.', targets: ['invitation'] },
  'invitation.accepted': {
    description: 'An invitation was accepted; the person joined.',
    targets: ['invitation', 'user'],
  },
  'member.updated': { description: "A member's roles or status changed.", targets: ['user'] },
  'member.removed': { description: 'A member was removed from the tenant.', targets: ['user'] },
  'role.created': { description: 'A custom role was created.', targets: ['role'] },
  'role.updated': { description: 'A custom role was changed.', targets: ['role'] },
  'role.deleted': { description: 'A custom role was deleted.', targets: ['role'] },
  'access.denied': { description: 'A request was refused for a missing permission (403).', targets: [] },
  'api_key.created': { description: 'An API key was created.', targets: ['api_key'] },
  'api_key.revoked': { description: 'An API key was revoked.', targets: ['api_key'] },
  // The tenant and its organizations
  'tenant.updated': { description: "The tenant's name, slug or branding changed.", targets: ['tenant'] },
  'organization.created': { description: 'An organization was created.', targets: ['organization'] },
  'organization.updated': { description: 'An organization was renamed or moved.', targets: ['organization'] },
  'organization.deleted': { description: 'An organization was deleted.', targets: ['organization'] },
  // Credits and billing
  'credits.consumed': { description: 'Credits were consumed.', targets: ['credit_transaction'] },
  'credits.granted': { description: 'Credits were granted.', targets: ['credit_transaction'] },
  'credits.expired': {
    description: "What was left of a grant's credits expired.",
    targets: ['credit_transaction'],
  },
  'credits.low_balance_threshold_set': {
    description: 'The low-balance alert threshold changed.',
    targets: ['tenant'],
  },
  'credits.reserved': { description: 'Credits were held for metered work.', targets: ['credit_reservation'] },
  'credits.reservation_captured': {
    description: 'Held credits were spent.',
    targets: ['credit_reservation'],
  },
  'credits.reservation_released': {
    description: 'Held credits were released.',
    targets: ['credit_reservation'],
  },
  'credits.reservation_expired': {
    description: 'A hold expired and its credits came back.',
    targets: ['credit_reservation'],
  },
  'billing.checkout_started': { description: 'A Stripe Checkout session was opened.', targets: ['plan'] },
  'billing.portal_opened': { description: 'The Stripe customer portal was opened.', targets: ['tenant'] },
  'billing.subscription_changed': {
    description: 'Stripe reported a subscription change.',
    targets: ['subscription'],
  },
  'billing.invoice_paid': {
    description: "Stripe reported a paid invoice; the plan's credits were granted.",
    targets: ['invoice'],
  },
  'billing.payment_failed': { description: 'Stripe reported a failed payment.', targets: ['invoice'] },
  'billing.pack_purchased': {
    description: 'A credit pack was paid for; its credits were granted.',
    targets: ['credit_pack'],
  },
  'billing.refunded': {
    description: 'A payment was refunded; its credits were taken back.',
    targets: ['charge'],
  },
  'billing.plan_renewed': { description: 'A plan set by hand started a new period.', targets: ['plan'] },
  // Webhooks
  'webhook.endpoint_created': { description: 'A webhook endpoint was added.', targets: ['webhook_endpoint'] },
  'webhook.endpoint_updated': {
    description: 'A webhook endpoint was changed, enabled or disabled by hand.',
    targets: ['webhook_endpoint'],
  },
  'webhook.endpoint_deleted': {
    description: 'A webhook endpoint was removed.',
    targets: ['webhook_endpoint'],
  },
  'webhook.secret_rotated': {
    description: "A webhook endpoint's signing secret was replaced (the old one signs on for a while).",
    targets: ['webhook_endpoint'],
  },
  'webhook.endpoint_disabled': {
    description: 'Wrapper disabled a webhook endpoint (410 Gone, or failing for days).',
    targets: ['webhook_endpoint'],
  },
  'webhook.test_sent': {
    description: 'A test message was sent to an endpoint.',
    targets: ['webhook_endpoint'],
  },
  'webhook.delivery_replayed': {
    description: 'A delivered or failed message was sent again.',
    targets: ['webhook_delivery', 'webhook_endpoint'],
  },
  'webhook.deliveries_recovered': {
    description: 'Every failed message of an endpoint since a time was sent again.',
    targets: ['webhook_endpoint'],
  },
  // Platform administration
  'admin.tenant_updated': {
    description: "A platform admin changed the tenant's status or plan.",
    targets: ['tenant'],
  },
  'admin.credits_adjusted': {
    description: "A platform admin adjusted the tenant's credits.",
    targets: ['tenant'],
  },
  'admin.platform_admin_granted': {
    description: 'A person of the tenant was made a platform admin (setup link or operator).',
    targets: ['user'],
  },
  // The audit trail itself
  'audit.read': { description: 'The audit trail was read.', targets: [] },
  'audit.exported': { description: 'The audit trail was exported.', targets: [] },
  'audit.verified': { description: 'The audit chain was verified.', targets: [] },
} as const satisfies Record<string, { description: string; targets: readonly string[] }>;

export type AuditAction = keyof typeof auditCatalog;
export const auditActions = Object.keys(auditCatalog) as AuditAction[];
export const isAuditAction = (value: string): value is AuditAction => Object.hasOwn(auditCatalog, value);

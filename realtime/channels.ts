/**
 * Channels a socket may subscribe to, and what a subscriber needs (tenant-wide permissions). Kept apart
 * from the event catalog so the app can import it without TypeBox.
 */
export const channelCatalog = {
  organizations: { permission: 'org:read', description: 'Organizations created, changed, moved, deleted' },
  membership: {
    permission: 'members:read',
    description: 'Invitations, joins, role and status changes, removals',
  },
  tenant: { permission: null, description: "The tenant's name and branding (every member)" },
  credits: { permission: 'credits:read', description: 'Balance movements' },
  billing: { permission: 'billing:manage', description: 'Subscription and invoices' },
  audit: { permission: 'audit:read', description: "The tenant's audit trail" },
  notifications: { permission: null, description: "The signed-in person's own notifications" },
  webhooks: { permission: 'webhooks:manage', description: 'Webhook endpoints and their deliveries' },
} as const satisfies Record<string, { permission: string | null; description: string }>;

export type Channel = keyof typeof channelCatalog;
export const channels = Object.keys(channelCatalog) as Channel[];

/** What the routes need of Bun's server: the socket peer of a request (null when handled in memory). */
export type PeerServer = { requestIP(request: Request): { address: string } | null } | null;

/** The client's address: the socket's peer, or the first X-Forwarded-For hop when a proxy is trusted. */
export function clientAddress(request: Request, server: PeerServer, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return server?.requestIP(request)?.address ?? null;
}

/** Who signs in from where, as recorded on a new session. */
export function sessionClient(request: Request, server: PeerServer, trustProxy: boolean) {
  return {
    userAgent: request.headers.get('user-agent'),
    ipAddress: clientAddress(request, server, trustProxy),
  };
}

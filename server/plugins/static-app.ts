import { existsSync, statSync } from 'node:fs';
import { join, normalize, resolve, sep } from 'node:path';
import { Elysia } from 'elysia';
import { AppError } from '../errors.ts';

const API_PREFIXES = ['/v1/', '/v1', '/docs', '/socket.io', '/healthz', '/readyz', '/metrics'];

/**
 * Serves the built SvelteKit app (a SPA) from `appDir` on the API's port: files as they are, any other
 * non-API GET falls back to `index.html`. Absent build = no routes, so the API still runs alone.
 */
export function staticApp(appDir: string) {
  const root = resolve(appDir);
  const index = join(root, 'index.html');
  const plugin = new Elysia({ name: 'static-app' });
  if (!existsSync(index)) return { plugin, served: false };

  const fileAt = (pathname: string): string | null => {
    const candidate = normalize(join(root, decodeURIComponent(pathname)));
    if (candidate !== root && !candidate.startsWith(root + sep)) return null; // path traversal
    return existsSync(candidate) && statSync(candidate).isFile() ? candidate : null;
  };

  plugin.get(
    '/*',
    ({ request, set }) => {
      const { pathname } = new URL(request.url);
      if (API_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`))) {
        throw new AppError('not-found', 'No such route.');
      }
      let file: string | null;
      try {
        file = fileAt(pathname);
      } catch {
        throw new AppError('not-found', 'No such file.');
      }
      if (file) {
        set.headers['cache-control'] = pathname.startsWith('/_app/immutable/')
          ? 'public, max-age=31536000, immutable'
          : 'no-cache';
        return Bun.file(file);
      }
      set.headers['cache-control'] = 'no-cache';
      return Bun.file(index);
    },
    { detail: { hide: true } },
  );
  return { plugin, served: true };
}

import { ScalarRender } from '@elysiajs/openapi/scalar';
import { Elysia } from 'elysia';
import { apiDocument } from './openapi-document.ts';
import { installStringFormats } from './string-formats.ts';

installStringFormats();

const info = {
  title: 'Wrapper API',
  version: '1.0.0',
  description:
    'Tenants, organizations, people, access, credits, billing, events and webhooks. Errors are RFC 9457 problem+json with `type` `/problems/<code>`.',
};

const components = {
  securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or wr_ API key' } },
};

/** OpenAPI 3.1 generated from the routes' TypeBox schemas: UI at `/docs`, document at `/docs/json`. */
export function openapiDocs() {
  const docs = new Elysia({ name: 'openapi-docs' });
  let built: { routes: number; document: ReturnType<typeof apiDocument> } | undefined;
  const page = ScalarRender(info, {
    url: 'docs/json',
    version: 'latest',
    cdn: 'https://cdn.jsdelivr.net/npm/@scalar/api-reference@latest/dist/browser/standalone.min.js',
  });
  return docs
    .get('/docs', () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf8' } }), {
      detail: { hide: true },
    })
    .get(
      '/docs/json',
      () => {
        // Every route of the app this plugin is used in, as @elysiajs/openapi reads them: protected in
        // Elysia's types, public at run time (a used plugin's method answers with its parent's routes).
        // biome-ignore lint/complexity/useLiteralKeys: the element access is what reaches a protected method
        const routes = docs['getGlobalRoutes']();
        // Built on the first request, when every route is there; again only if routes were added since.
        if (built?.routes !== routes.length) {
          built = { routes: routes.length, document: apiDocument(docs, routes, { info, components }) };
        }
        return built.document;
      },
      { detail: { hide: true } },
    );
}

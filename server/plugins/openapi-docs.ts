import { openapi } from '@elysiajs/openapi';
import { installStringFormats } from './string-formats.ts';

installStringFormats();

/** OpenAPI 3.1 generated from the routes' TypeBox schemas: UI at `/docs`, document at `/docs/json`. */
export function openapiDocs() {
  return openapi({
    path: '/docs',
    specPath: '/docs/json',
    documentation: {
      info: {
        title: 'Wrapper API',
        version: '1.0.0',
        description:
          'Tenants, organizations, people, access, credits, billing, events and webhooks. Errors are RFC 9457 problem+json with `type` `/problems/<code>`.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or wr_ API key' } },
      },
    },
    exclude: { staticFile: true },
  });
}

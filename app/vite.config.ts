import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

const apiOrigin = 'http://localhost:3000';

export default defineConfig({
  plugins: [tailwindcss(), sveltekit()],
  server: {
    // In development the app and the API live on different ports; the proxy keeps them same-origin.
    proxy: {
      '/v1': apiOrigin,
      '/healthz': apiOrigin,
      '/readyz': apiOrigin,
      '/docs': apiOrigin,
      '/socket.io': { target: apiOrigin, ws: true },
    },
  },
});

// A client-rendered app: the API server serves build/index.html for every route.
export const ssr = false;
export const prerender = false;

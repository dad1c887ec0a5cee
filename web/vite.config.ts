import { defineConfig } from "vite";

// The API and short links live on the same origin as the app; in `vite` dev mode they are
// proxied to a running Spito (`make dev`), whose address SPITO_URL overrides.
const spito = process.env.SPITO_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Every browser the app supports has modulepreload; the polyfill would only add bytes.
    modulePreload: { polyfill: false },
    // Keep every asset a file: inlined data: URLs would need a looser CSP.
    assetsInlineLimit: 0,
  },
  worker: { format: "es" },
  server: {
    proxy: {
      "/api": spito,
      "/openapi.json": spito,
      "^/[A-Za-z0-9_-]+(/raw)?$": spito,
    },
  },
});

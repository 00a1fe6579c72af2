// web/vite.config.ts: builds the admin UI into dist/ (or AIGATE_WEB_OUT, set by the CMake build so
// every build directory gets its own copy). Hashed file names under assets/ let the server mark
// them immutable; nothing is loaded from the network at run time.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: '/',
  define: { __UI_VERSION__: JSON.stringify(process.env.npm_package_version || '0.1.0') },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: process.env.AIGATE_WEB_OUT || 'dist',
    emptyOutDir: true,
    target: 'es2020',
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': process.env.AIGATE_DEV_URL || 'http://127.0.0.1:8045',
      '/auth': process.env.AIGATE_DEV_URL || 'http://127.0.0.1:8045',
      '/healthz': process.env.AIGATE_DEV_URL || 'http://127.0.0.1:8045',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});

import { cpSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Grafana provides these at runtime; bundling them would load a second React.
const externals = ['react', 'react-dom', 'react/jsx-runtime', '@grafana/data', '@grafana/runtime', '@grafana/ui', '@grafana/schema', 'rxjs'];

export default defineConfig({
  build: {
    outDir: 'dist',
    // dist/ also holds the backend binaries built by build.sh.
    emptyOutDir: false,
    sourcemap: true,
    lib: {
      entry: resolve('src/module.ts'),
      // UMD takes the AMD branch under Grafana's SystemJS loader (define.amd is set).
      formats: ['umd'],
      name: 'opscentreIncidentsDatasource',
      fileName: () => 'module.js',
    },
    rollupOptions: {
      external: externals,
      output: {
        globals: Object.fromEntries(externals.map((e) => [e, e])),
      },
    },
  },
  plugins: [
    {
      name: 'copy-plugin-assets',
      closeBundle() {
        mkdirSync('dist/img', { recursive: true });
        cpSync('src/plugin.json', 'dist/plugin.json');
        cpSync('src/img', 'dist/img', { recursive: true });
        cpSync('README.md', 'dist/README.md');
      },
    },
  ],
  test: {
    environment: 'jsdom',
    globals: true,
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    // The first render of @grafana/ui components takes seconds on a loaded 2-core machine;
    // the default 5 s made a test fail once for that reason alone.
    testTimeout: 30000,
    // @grafana/ui imports CSS (uPlot's); run it through Vite instead of Node's loader.
    server: { deps: { inline: [/@grafana\//, /uplot/] } },
  },
});

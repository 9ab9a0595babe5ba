import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The kind-based end-to-end suite: run by test/e2e/run.sh (`make test-e2e`) against the cluster it
// created, never by `make test`.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});

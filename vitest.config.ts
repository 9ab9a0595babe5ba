import { defineConfig } from 'vitest/config';

// Two projects: unit tests are pure and fast; integration tests talk to the local test bed
// (real kube-apiserver, KWOK nodes, moto) and run one file at a time so they never fight over it.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'services/**/*.test.ts',
            'test/unit/**/*.test.ts',
            'test/support/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        // A real ArgoCD syncing the chart and the samples: `make test-argocd-sync` starts it on the bed.
        test: {
          name: 'argocd',
          include: ['test/argocd/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

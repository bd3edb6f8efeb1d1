import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests per package (parallel) and the root integration suite, which
// runs built binaries against real processes, sockets and a private redis-server (serial).
export default defineConfig({
  test: {
    globalSetup: ['./test/helpers/global-setup.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 30_000,
          setupFiles: ['./test/helpers/audit.ts'],
        },
      },
    ],
  },
});

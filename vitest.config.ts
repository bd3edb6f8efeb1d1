import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests per package (parallel) and the root integration suite, which
// runs built binaries against real processes, sockets and a private redis-server (serial).
export default defineConfig({
  test: {
    globalSetup: ['./test/helpers/global-setup.ts'],
    // Integration files share 2 cores and real timing; one file at a time (unit files are ms each).
    fileParallelism: false,
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
          testTimeout: 30_000,
          hookTimeout: 30_000,
          setupFiles: ['./test/helpers/audit.ts'],
        },
      },
    ],
  },
});

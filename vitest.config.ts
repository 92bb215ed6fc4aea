import { defineConfig } from "vitest/config";

/**
 * One vitest run for the whole workspace. Tests import sibling packages through the
 * `molt-source` export condition, so they run against TypeScript sources without a build;
 * end-to-end tests that spawn the CLI use the built `dist/` (`pnpm test` builds first).
 */
export default defineConfig({
  resolve: { conditions: ["molt-source"] },
  ssr: { resolve: { conditions: ["molt-source"], externalConditions: ["molt-source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/harness/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default", "./test/harness/summary-reporter.ts"],
  },
});

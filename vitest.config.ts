import { defineConfig } from "vitest/config";

/**
 * One vitest run for the whole workspace. Tests import sibling packages through the
 * `molt-source` export condition, so they run against TypeScript sources without a build;
 * end-to-end tests that spawn the CLI use the built `dist/` (`pnpm test` builds first).
 * Two projects: `unit` (each package's own tests) and `e2e` (the root test folder).
 */
export default defineConfig({
  resolve: { conditions: ["molt-source"] },
  ssr: { resolve: { conditions: ["molt-source"], externalConditions: ["molt-source"] } },
  test: {
    globalSetup: ["test/harness/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default", "./test/harness/summary-reporter.ts"],
    // `pnpm test` runs both; `pnpm test:unit` (vitest --project unit) only the packages' own tests.
    projects: [
      { extends: true, test: { name: "unit", include: ["packages/*/test/**/*.test.ts"] } },
      { extends: true, test: { name: "e2e", include: ["test/**/*.test.ts"] } },
    ],
  },
});

import { defineConfig } from "vitest/config";

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: "forks" as const,
  // The AWS SDK's notice that its 2027 releases need Node 22 is known (versions are pinned).
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
};
const conformance = "packages/langgraph/test/conformance/**/*.test.ts";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "weft",
          include: ["packages/*/test/**/*.test.ts", "docs/**/*.test.ts", "functions/test/**/*.test.ts", "infra/**/*.test.ts", "examples/*/test/**/*.test.ts", "bench/test/**/*.test.ts"],
          exclude: [conformance, "**/node_modules/**"],
        },
      },
      {
        // LangGraph's checkpointer conformance suite is written against Jest-style globals.
        test: { ...shared, name: "langgraph-conformance", include: [conformance], globals: true },
      },
    ],
  },
});

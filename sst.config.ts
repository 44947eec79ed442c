/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Weft on AWS (SST v3). The resources are built in infra/stack/ from the plain-data
 * tables in infra/ (routes, subscriptions, schedules), which the local emulator serves too.
 *
 * Switches (environment of `sst deploy`, see infra/settings.ts): WEFT_REDIS=elasticache|upstash,
 * WEFT_SHARDS, WEFT_EXAMPLE_AGENTS, WEFT_EXAMPLE_MODEL=fake|openai. Secrets: `sst secret set
 * WeftApiKeys "key:tenant,..."`, with Upstash `UpstashRedisRestUrl` and `UpstashRedisRestToken`,
 * and with WEFT_EXAMPLE_MODEL=openai `OpenAiApiKey`.
 */
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return {
      name: "weft",
      home: "aws",
      removal: production ? "retain" : "remove",
      protect: production,
      // Pinned: the platform's Pulumi SDK and the resource graph test expect this provider.
      providers: { aws: "6.66.2" },
    };
  },
  async run() {
    // SST forbids top-level imports in this file: infra is loaded once the globals exist.
    const { createWeft } = await import("./infra/stack/index.js");
    return createWeft(process.env).outputs;
  },
});

import type { StreamApi } from "./stream.js";


/**
 * The web dashboard (packages/dashboard) as a static site: S3 behind CloudFront, built by
 * Vite at deploy time with the API's URL (the REST calls, watch tokens) and the Stream API's
 * URL (the tenant's live runs list) baked in; a run's stream URL comes with its watch token.
 * Locally `npm start` serves the same build from the API's own origin.
 */
export function createDashboardSite(api: sst.aws.ApiGatewayV2, stream: StreamApi): sst.aws.StaticSite {
  return new sst.aws.StaticSite("Dashboard", {
    path: "packages/dashboard", // DASHBOARD_DIR of functions/local/dashboard.ts, from the repo root
    build: { command: "npm run build", output: "dist" },
    environment: { VITE_WEFT_API_URL: api.url, VITE_WEFT_STREAM_URL: stream.url },
    // SST writes the env's types for Vite; in the gitignored .sst/, not src/ (no rebuild, no stray file).
    vite: { types: ".sst/sst-env.d.ts" },
  });
}

import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize } from "node:path";
import { ROOT } from "./handlers.js";

/** packages/dashboard: built by Vite into dist/, served by the emulator at `/`. */
export const DASHBOARD_DIR = join(ROOT, "packages", "dashboard");
const DIST = join(DASHBOARD_DIR, "dist");

const newest = (dir: string): number => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
};

/** Builds the dashboard when dist/ is missing or older than its sources (index.html, src/, vite config). */
export async function ensureDashboardBuilt(log: (line: string) => void): Promise<void> {
  const index = join(DIST, "index.html");
  const sources = Math.max(newest(join(DASHBOARD_DIR, "src")), statSync(join(DASHBOARD_DIR, "index.html")).mtimeMs, statSync(join(DASHBOARD_DIR, "vite.config.ts")).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  log("dashboard: building packages/dashboard (sources changed)...");
  const started = Date.now();
  const { build } = await import("vite");
  await build({ configFile: join(DASHBOARD_DIR, "vite.config.ts"), logLevel: "warn" });
  log(`dashboard: built in ${Date.now() - started} ms`);
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/**
 * The built dashboard for GET requests outside the API (`/v1/...`, `/openapi.json`): what a
 * static site (S3, CloudFront) serves when deployed.
 */
export function dashboardSite(): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path.startsWith("/v1/") || path === "/v1" || path === "/openapi.json") return false;
    const rel = path === "/" ? "index.html" : normalize(decodeURIComponentSafe(path)).replace(/^([/\\])+/, "");
    const file = join(DIST, rel);
    if (!file.startsWith(DIST) || !existsSync(file) || !statSync(file).isFile()) return false;
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": rel.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
    return true;
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

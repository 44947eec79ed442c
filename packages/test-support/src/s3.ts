import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type S3rverType from "s3rver";

/** An S3-compatible server (s3rver, in this process, objects in a temporary folder). */
export interface S3Server {
  endpoint: string;
  bucket: string;
  stop(): Promise<void>;
}

export async function startS3(bucket = "weft-values"): Promise<S3Server> {
  const S3rver = createRequire(import.meta.url)("s3rver") as typeof S3rverType;
  const directory = await mkdtemp(join(tmpdir(), "weft-s3-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

import { createRequire } from "node:module";
import type { Server } from "node:http";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** A DynamoDB-compatible server owned by the test that started it. */
export interface DynamoServer {
  /** Which implementation answers: shown in test names. */
  name: string;
  endpoint: string;
  /** A new SDK client pointed at this server (dummy credentials; local servers ignore them). */
  client(): DynamoDBClient;
  stop(): Promise<void>;
}

export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    // DynamoDB Local accepts only letters and digits in the access key id.
    credentials: { accessKeyId: "weftlocal", secretAccessKey: "weftlocal" },
    // Local servers answer at once; the SDK's default retries would hide injected failures.
    maxAttempts: 3,
  });
}

// dynalite ships no type declarations; this is the one call we make.
type DynaliteFactory = (opts: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

/** dynalite in this process (in-memory LevelDB), listening on a free port chosen by the OS. */
export async function startDynalite(): Promise<DynamoServer> {
  const dynalite = createRequire(import.meta.url)("dynalite") as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  return {
    name: "dynalite",
    endpoint,
    client() {
      const c = dynamoClient(endpoint);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

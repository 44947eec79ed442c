import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";

/**
 * The archive table, single-table design. Named here once so infra (SST) and tests
 * create exactly the same table.
 *
 * Items of one run share `pk = RUN#<tenant>#<dagId>` (ids never contain `#`):
 * - `sk = MARKER`: the commit marker, written last; also the run's listing entry.
 * - `sk = C#<generation>#...`: gzip chunks of the snapshot, spec and event log.
 * Only markers carry the index keys, so both indexes are sparse: one row per run.
 * - byTenant: `gsi1pk = T#<tenant>`, `gsi1sk = <createdAt, 13 digits>#<dagId>`
 * - byStatus: `gsi2pk = T#<tenant>#<status>`, same sort key
 * Every item carries `expiresAt` (epoch seconds), the TTL attribute.
 */
export const TABLE = {
  defaultName: "weft-archive",
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  indexes: {
    byTenant: { name: "byTenant", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
    byStatus: { name: "byStatus", partitionKey: "gsi2pk", sortKey: "gsi2sk" },
  },
  /** What the indexes copy from the marker: the run summary a listing shows. */
  projected: ["dagId", "status", "createdAt", "finishedAt", "counts", "expiresAt"],
  /** The same definition in the shape of SST's `sst.aws.Dynamo` arguments. */
  sst: {
    fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string", gsi2pk: "string", gsi2sk: "string" },
    primaryIndex: { hashKey: "pk", rangeKey: "sk" },
    globalIndexes: {
      byTenant: { hashKey: "gsi1pk", rangeKey: "gsi1sk", projection: ["dagId", "status", "createdAt", "finishedAt", "counts", "expiresAt"] },
      byStatus: { hashKey: "gsi2pk", rangeKey: "gsi2sk", projection: ["dagId", "status", "createdAt", "finishedAt", "counts", "expiresAt"] },
    },
    ttl: "expiresAt",
  },
} as const;

/** CreateTable input for the archive table (on-demand billing). */
export function createTableInput(tableName: string = TABLE.defaultName): CreateTableCommandInput {
  const index = (i: { name: string; partitionKey: string; sortKey: string }) => ({
    IndexName: i.name,
    KeySchema: [
      { AttributeName: i.partitionKey, KeyType: "HASH" as const },
      { AttributeName: i.sortKey, KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...TABLE.projected] },
  });
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
    ],
    AttributeDefinitions: Object.keys(TABLE.sst.fields).map((name) => ({ AttributeName: name, AttributeType: "S" as const })),
    GlobalSecondaryIndexes: [index(TABLE.indexes.byTenant), index(TABLE.indexes.byStatus)],
  };
}

/**
 * Creates the table if missing and waits until it is ACTIVE; for local servers and
 * tests (deployed tables come from infra). Turns TTL on where the server supports it:
 * dynalite does not, which is why reads filter expired items themselves.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string = TABLE.defaultName): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (e) {
    if ((e as Error).name !== "ResourceInUseException") throw e;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
    if (Table?.TableStatus === "ACTIVE" && indexesActive) break;
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      }),
    );
  } catch (e) {
    const name = (e as Error).name;
    // dynalite: no TTL API. Already enabled: a second ensureTable on the same table.
    if (name !== "UnknownOperationException" && !/already enabled/i.test((e as Error).message)) throw e;
  }
}

/** How long a finished run stays in the cold store by default (and its large values in S3: infra/stack/values.ts). */
export const DEFAULT_RETENTION_DAYS = 90;

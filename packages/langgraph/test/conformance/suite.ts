import type { RunnableConfig } from "@langchain/core/runnables";
import type { CheckpointListOptions, CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { deltaChannelHistoryTests, validate, type CheckpointSaverTestInitializer } from "@langchain/langgraph-checkpoint-validation";
import { ensureTable } from "@weft/core/dynamodb";
import { startBackend, startDynalite, type Backend, type BackendName, type DynamoServer } from "@weft/test-support";
import { WeftSaver, type WeftSaverOptions } from "../../src/index.js";

/**
 * A saver that archives and evicts every thread it wrote before each read, so every read
 * of the suite goes through the cold tier (DynamoDB) and the read-through.
 */
class EvictingSaver extends WeftSaver {
  private readonly dirty = new Set<string>();

  override async put(...a: Parameters<WeftSaver["put"]>) {
    this.dirty.add(String(a[0].configurable?.thread_id));
    return super.put(...a);
  }

  override async putWrites(...a: Parameters<WeftSaver["putWrites"]>) {
    this.dirty.add(String(a[0].configurable?.thread_id));
    return super.putWrites(...a);
  }

  private async evictAll(): Promise<void> {
    for (const t of this.dirty) await this.finish(t, { evict: true });
    this.dirty.clear();
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    await this.evictAll();
    return super.getTuple(config);
  }

  override async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    await this.evictAll();
    yield* super.list(config, options);
  }
}

/**
 * LangGraph's checkpointer conformance suite (validate() plus the opt-in delta channel
 * history tests) against WeftSaver on one Redis deployment; `cold` adds the DynamoDB cold
 * tier on dynalite and evicts every thread between its writes and reads. The saver's name
 * is its own, so the suite skips nothing that it skips for other savers by name.
 */
export function conformance(backend: BackendName, mode: "hot" | "cold" = "hot"): void {
  let b: Backend | undefined;
  let dynamo: DynamoServer | undefined;
  let n = 0;
  const table = "weft-archive";
  const initializer: CheckpointSaverTestInitializer<WeftSaver> = {
    checkpointerName: `WeftSaver (${backend}${mode === "cold" ? ", cold-evicted" : ""})`,
    beforeAllTimeout: 120_000,
    async beforeAll() {
      b = await startBackend(backend);
      if (mode === "cold") {
        dynamo = await startDynalite();
        await ensureTable(dynamo.client(), table);
      }
    },
    async afterAll() {
      await b?.stop();
      await dynamo?.stop();
    },
    createCheckpointer() {
      // A prefix per checkpointer: instances never see each other's threads (the suite requires it).
      const o: WeftSaverOptions = { redis: b!.redis(), prefix: `c${++n}` };
      return mode === "cold" ? new EvictingSaver({ ...o, cold: { table, client: dynamo!.client() } }) : new WeftSaver(o);
    },
    async destroyCheckpointer(saver) {
      await saver.close();
    },
  };
  validate(initializer);
  deltaChannelHistoryTests(initializer);
}

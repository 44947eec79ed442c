/** @weft/core/dynamodb - the cold store: finished runs archived in DynamoDB, its port and its table. */
export type { ColdStore, ListRunsOptions, RunArchive, RunList, RunSummary } from "./port.js";
export { DynamoColdStore, type DynamoColdStoreOptions } from "./dynamo-cold-store.js";
export { TABLE, createTableInput, ensureTable } from "./table.js";

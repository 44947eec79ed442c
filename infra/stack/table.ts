import { TABLE } from "../../packages/core/src/archive/table.js";

/**
 * The archive table (cold snapshots and event logs of finished runs), from the one
 * definition the cold store and its tests use, so the deployed keys cannot drift.
 */
export function createArchiveTable(): sst.aws.Dynamo {
  const d = TABLE.sst;
  const globalIndexes = Object.fromEntries(
    Object.entries(d.globalIndexes).map(([name, i]) => [name, { hashKey: i.hashKey, rangeKey: i.rangeKey, projection: [...i.projection] }]),
  );
  return new sst.aws.Dynamo("Archive", {
    fields: { ...d.fields },
    primaryIndex: { ...d.primaryIndex },
    globalIndexes,
    ttl: d.ttl,
  });
}

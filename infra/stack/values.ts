import { DEFAULT_RETENTION_DAYS } from "../../packages/core/src/archive/table.js";

/** Days past the cold store's retention that a run's large values are kept: a run's objects are written while it runs, before its archive's retention starts. */
export const VALUES_GRACE_DAYS = 7;

/**
 * The bucket of large node values (@weft/core/values): private, objects under
 * `weft/<tenant>/<dagId>/`, expired by a lifecycle rule once the cold store's retention of
 * their run has passed.
 */
export function createValuesBucket(): sst.aws.Bucket {
  return new sst.aws.Bucket("Values", {
    lifecycle: [{ id: "run-retention", prefix: "weft/", expiresIn: `${DEFAULT_RETENTION_DAYS + VALUES_GRACE_DAYS} days` }],
  });
}

import { DEFAULT_RETENTION_DAYS } from "../../packages/core/src/archive/table.js";

/** Days past the cold store's retention that a run's large values are kept: a run's objects are written while it runs, before its archive's retention starts. */
export const VALUES_GRACE_DAYS = 7;

/**
 * The bucket of large node values (@weft/core/values): private, objects under
 * `weft/<tenant>/<dagId>/`, expired by a lifecycle rule once the cold store's retention of
 * their run has passed; readable by a browser through presigned URLs.
 */
export function createValuesBucket(): sst.aws.Bucket {
  return new sst.aws.Bucket("Values", {
    lifecycle: [{ id: "run-retention", prefix: "weft/", expiresIn: `${DEFAULT_RETENTION_DAYS + VALUES_GRACE_DAYS} days` }],
    // A browser reads a value through the presigned URL the API handed out (the dashboard's
    // fetch of `?values=url`, from another origin), from any origin as the HTTP API allows:
    // the URL's signature is the authority. Nothing else: writes come from the functions and
    // from @weft/client in Node (uploads), where CORS does not apply. (Without this, SST's
    // default allows every method, PUT, POST and DELETE included, from everywhere.)
    cors: { allowOrigins: ["*"], allowMethods: ["GET", "HEAD"], allowHeaders: ["*"], maxAge: "1 day" },
  });
}

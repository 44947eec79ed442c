/** @weft/core/values - large node values (inputs, outputs) kept in S3, referenced from Redis and the cold store. */
export { createS3ValueStore, DEFAULT_OFFLOAD_BYTES, MAX_VALUE_BYTES, type S3ValueStoreOptions, type StoredValue, type ValueOwner, type ValueStore } from "./store.js";

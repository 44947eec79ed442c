/** @weft/core/values - large node values (inputs, outputs) kept in S3, referenced from Redis and the cold store. */
export { createS3ValueStore, type S3ValueStoreOptions, type StoredValue, type SweepOptions, type ValueOwner, type ValueStore } from "./store.js";
export {
  DEFAULT_VALUE_THRESHOLD_BYTES,
  DIRECT_UPLOAD_BYTES,
  INLINE_RESPONSE_BYTES,
  isValueRef,
  MAX_VALUE_BYTES,
  resolveRecordRefs,
  resolveRefs,
  SHA256_PATTERN,
  VALUE_REF_FIELD,
  valueRef,
  type ValueRef,
  type ValueRefBody,
} from "./ref.js";

/**
 * @weft/test-support - real servers for tests, never mocks: redis-server nodes (plain and
 * AOF-persisted), a 3-master Redis Cluster, the Upstash REST bridge, dynalite and the
 * DynamoDB Local jar, s3rver for S3, and a seeded PRNG. See this package's README.
 */
export * from "./redis.js";
export * from "./cluster.js";
export * from "./upstash-bridge.js";
export * from "./backends.js";
export * from "./dynamo.js";
export * from "./dynamodb-local.js";
export * from "./prng.js";
export * from "./s3.js";
export * from "./imports.js";

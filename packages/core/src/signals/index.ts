/** @weft/core/signals - what an operator and an autoscaler read: health of the Redis shards, per-agent queue depth. */
export { codeVersion, createSignals, DEFAULT_EXPIRING_WITHIN_MS, DEFAULT_HEALTH_TIMEOUT_MS, probe, type AgentSignal, type AgentSignals, type Probe, type RedisHealth, type ShardHealth, type Signals, type SignalsOptions } from "./signals.js";
export { SIGNAL_SCRIPTS } from "./scripts.js";

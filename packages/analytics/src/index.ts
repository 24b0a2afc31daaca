export * from './types';
export { Analyzer, flowId } from './analyzer';
export type { AnalyzerStats, AnalyzerParts, TableStats } from './analyzer';
export type { LatencyStats, LatencySummary, QueueLatency, FlowLatency } from './latency';
export { CHECKPOINT_VERSION, type AnalyzerCheckpoint } from './checkpoint';
export { BoundedTable, type EvictReason } from './table';
export { SketchPool } from './sketch';
export * from './score';
export { EndToEnd, LINK_BUDGET_NS, E2E_NONE, E2E_TIMESTAMPS, E2E_HOP_SUM } from './e2e';

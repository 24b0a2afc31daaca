export * from './types';
export { Analyzer, flowId } from './analyzer';
export type { AnalyzerStats, AnalyzerParts, TableStats } from './analyzer';
export type { LatencyStats, LatencySummary, QueueLatency, FlowLatency } from './latency';
export { CHECKPOINT_VERSION, type AnalyzerCheckpoint } from './checkpoint';
export { BoundedTable, type EvictReason } from './table';
export { SketchPool } from './sketch';
export * from './score';

export * from './types';
export { Analyzer, flowId } from './analyzer';
export type {
  AnalyzerStats,
  AnalyzerParts,
  TableStats,
  LatencyStats,
  LatencySummary,
  QueueLatency,
  FlowLatency,
} from './analyzer';
export { BoundedTable, type EvictReason } from './table';
export { SketchPool } from './sketch';
export * from './score';

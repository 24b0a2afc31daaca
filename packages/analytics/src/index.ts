export {
  type AnalyticsConfig,
  type Anomaly,
  type AnomalyType,
  type BurstFlow,
  DEFAULT_CONFIG,
  type DropAnomaly,
  type FlowTuple,
  type Hairpin,
  type LoopPort,
  type MicroburstAnomaly,
  type MicroloopAnomaly,
  type PathChangeAnomaly,
  type ReportLossAnomaly,
} from './types';
export { Analyzer, flowId } from './analyzer';
export type { AnalyzerStats, AnalyzerParts, TableStats } from './analyzer';
export type { LatencyStats, LatencySummary, QueueLatency, FlowLatency } from './latency';
export { CHECKPOINT_VERSION, type AnalyzerCheckpoint } from './checkpoint';
export { BoundedTable, type EvictReason } from './table';
export { SketchPool } from './sketch';
export {
  ANOMALY_TYPES,
  type ErrorStats,
  formatConfusion,
  type LabelAnomaly,
  type LabelFile,
  type Match,
  parseLabels,
  sameFlow,
  score,
  type ScoreOptions,
  type ScoreReport,
  type TypeScore,
} from './score';
export { EndToEnd, LINK_BUDGET_NS, E2E_NONE, E2E_TIMESTAMPS, E2E_HOP_SUM } from './e2e';
export { writeFlowKey, FLOW_KW } from './tables';

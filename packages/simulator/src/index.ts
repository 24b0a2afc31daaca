export {
  Simulation,
  LOSS_EPISODE_GAP_NS,
  type SimFlow,
  type RecordSink,
  type SimStats,
} from './engine';
export {
  loadScenario,
  normalizeScenario,
  codecOverridesFor,
  ScenarioError,
  type Scenario,
  type EncapsulationName,
  type TopologySpec,
  type TrafficSpec,
  type IntSpec,
  type OutputSpec,
  type EventSpec,
  type MicroburstEvent,
  type MicroloopEvent,
  type PathChangeEvent,
  type DropEvent,
  type ReportLossEvent,
  type HairpinEvent,
  type BusyEvent,
} from './scenario';
export { Topology, leafId, spineId, type Path } from './topology';
export { PacketFactory, hopLayout, hopMetadataOf, VSTRIDE } from './packets';
export {
  labelsToJson,
  parseLabels,
  type Labels,
  type Anomaly,
  type FlowLabel,
  type HairpinLabel,
} from './labels';
export {
  simulate,
  simulateToBuffer,
  simulateLive,
  generate,
  epochNs,
  CaptureSink,
  type SimulateOptions,
  type GenerateOptions,
  type SimulateResult,
  type LiveOptions,
} from './simulate';
export { runSimulateCommand, SIMULATE_USAGE } from './cli';
export {
  makeBundledCaptures,
  BUNDLED_CAPTURES,
  SCORING_SCENARIOS,
  type BundledCapture,
} from './captures';
export { Rng } from './rng';

export { AnalyzeWorker, type AnalyzeOptions } from './worker';
export type { AnalyzeStats } from './metrics';

/**
 * Test helpers of @hopwatch/pipeline, kept out of the runtime API: import them from
 * `@hopwatch/pipeline/testing` (package.json "exports" and "typesVersions" for node and tsc,
 * jest.config.js's moduleNameMapper for tests run from the sources).
 */
export { randomBatch, signatures, topicChecksum, rng32 } from './wire/testing';
export {
  REPO_ROOT,
  CLI_BIN,
  runCli,
  waitFor,
  writeCodecConfig,
  decodeCaptures,
  embeddedAnomalies,
  expectedHopLatencies,
  anomalyTopicReader,
  metricValue,
  anomalyIds,
  type CliProcess,
} from './distributed/testing';

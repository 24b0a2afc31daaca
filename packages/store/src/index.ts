export {
  openStore,
  DEFAULT_EMBEDDED_MERGE_SELECTOR_BASE,
  EmbeddedStore,
  ServerStore,
  StoreError,
  formatTable,
  type Store,
  type StoreOptions,
  type QueryFormat,
  type InsertFormat,
  type Row,
  type QueryResult,
  type InsertStats,
  type InsertOptions,
  type AnomalyInput,
} from './store';
export { detectCapabilities, type Capabilities } from './capabilities';
export { formatClauseOf } from './format-clause';
export {
  NAMED_QUERIES,
  buildNamedQuery,
  type NamedQuery,
  type ParamSpec,
  type ParamType,
} from './named-queries';
export {
  hopColumns,
  pathColumns,
  anomalyColumns,
  LEDGER_COLUMNS,
  CAPTURE_LEDGER_COLUMNS,
  migrations,
  INT_VERSION_TYPE,
  ENCAPSULATION_TYPE,
  type ColumnSpec,
  type Migration,
} from './schema';
export {
  captureLedger,
  storedCaptureSql,
  TableLedger,
  type CaptureLedger,
  type StoredCapture,
  type StoredWrite,
} from './capture-ledger';
export { encodeBatch, flowHashWords, GrowBuf, type LedgerInput } from './rowbinary';
export { NativeEncoder } from './native';
export { ParamError, normAddr } from './sql';
export {
  startQueryEndpoint,
  endpointWarnings,
  type QueryEndpoint,
  type QueryEndpointOptions,
  type EndpointStats,
} from './endpoint/server';
export {
  Users,
  requestCredentials,
  isLoopback,
  type UserSpec,
  type Credentials,
} from './endpoint/auth';
export {
  DEFAULT_LIMITS,
  limitPolicy,
  requestSettings,
  RequestRefusal,
  type Limit,
  type LimitPolicy,
} from './endpoint/settings';
export { judge, parseExplainAst, ALLOWED_TABLE_FUNCTIONS, type AstNode } from './endpoint/guard';
export {
  recordEndpoint,
  recordedEndpoint,
  writeStateFile,
  ENDPOINT_FILE,
} from './endpoint/state-file';
export {
  ChdbReadSession,
  ServerReadSession,
  renderSettings,
  type ReadSession,
  type ReadSettings,
} from './read-session';
export { parseEngineError, type EngineErrorParts } from './engine-error';
export {
  CONSOLE_QUERIES,
  consoleNamedQueries,
  fillTemplate,
  type ConsoleQuery,
  type TemplateParamKind,
} from './console/queries';
export {
  pruneFineRollup,
  fineRollupStatements,
  FINE_LEVELS,
  FINE_100US,
  FINE_10MS,
  DEFAULT_FINE_WINDOW_MINUTES,
  type FineLevel,
  type PruneTarget,
} from './console/fine-rollup';
export { startConsole, type ConsoleHook } from './console/index';
export {
  buildReportHtml,
  reportResults,
  reportKey,
  type ReportMeta,
  type ReportSource,
} from './console/report';
export {
  consolePage,
  consoleFile,
  CONSOLE_DIR,
  CONSOLE_HEADERS,
  type Page,
} from './console/assets';

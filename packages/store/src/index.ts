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
  type InsertStats,
  type InsertOptions,
  type AnomalyInput,
} from './store';
export { detectCapabilities, type Capabilities } from './capabilities';
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
  refusal,
  recordEndpoint,
  recordedEndpoint,
  ENDPOINT_FILE,
  type QueryEndpoint,
} from './http-endpoint';

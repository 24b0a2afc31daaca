export * from './ingest';
export * from './analyze';
export * from './redis-state';
export * from './loop-merge';

export * from './registry';
export * from './server';
export * from './log';
export * from './transport-metrics';

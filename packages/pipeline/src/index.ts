export * from './wire';
export * from './transport';
export * from './metrics';
export * from './sources';
export * from './embedded';
export * from './distributed';

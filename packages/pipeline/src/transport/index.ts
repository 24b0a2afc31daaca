export * from './types';
export * from './memory';
export * from './kafka';
export * from './admin';
export * from './publish';

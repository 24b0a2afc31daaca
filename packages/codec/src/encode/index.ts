export * from './spec';
export * from './bytes';
export * from './stack';
export * from './packet';
export * from './report';

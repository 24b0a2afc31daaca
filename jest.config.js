/** Tests run straight from TypeScript sources through SWC (no build step, no type check:
 * `npm run build` is the type check). Workspace imports resolve to each package's src/. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/benchmarks'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleNameMapper: {
    '^@hopwatch/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    // a package's test helpers (package.json "exports": "./testing")
    '^@hopwatch/([a-z-]+)/testing$': '<rootDir>/packages/$1/src/testing.ts',
  },
  testTimeout: 60000,
};

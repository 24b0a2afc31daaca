import { spawnSync } from 'child_process';
import * as path from 'path';

const BIN = path.resolve(__dirname, '../bin/hopwatch.js');

// `CMD --version` was an unknown-flag usage error (exit 2) in every command.
test.each([
  'dissect',
  'replay',
  'strip',
  'verify',
  'query',
  'ingest',
  'serve',
  'analyze',
  'simulate',
])('%s --version prints the version and exits 0', (cmd) => {
  const r = spawnSync('node', [BIN, cmd, '--version'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('hopwatch 0.1.0\n');
  expect(r.stderr).toBe('');
});

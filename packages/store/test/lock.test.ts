/**
 * One process at a time per embedded data directory (the engine locks it): a second opener
 * is told which process holds it, not a bare engine error.
 */
import { spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { openStore } from '@hopwatch/store';

test('an embedded store held by another process: a clear error naming that process', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-lock-'));
  const dataDir = path.join(dir, 'data');
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `require('@hopwatch/store').openStore({ dataDir: ${JSON.stringify(dataDir)} }).then(() => { console.log('open'); setInterval(() => {}, 1000); }, (e) => { console.error(e); process.exit(1); });`,
    ],
    { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d: Buffer) => d.toString().includes('open') && resolve());
      holder.on('exit', (c) => reject(new Error(`holder exited with ${c}`)));
    });
    await expect(openStore({ dataDir })).rejects.toThrow(
      new RegExp(`in use by process ${holder.pid} \\(one process at a time`),
    );
  } finally {
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

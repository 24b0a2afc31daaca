/**
 * The embedded store's insert files: private to the process, removed after use and at close;
 * an opening store removes those of processes that are gone, and only those.
 */
import { spawn, spawnSync } from 'child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { InsertFiles, removeOrphanedInsertFiles } from '../src/insert-files';

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'hopwatch-insert-files-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('removes what exited processes left (directories and older flat files), keeps the rest', () => {
  const gone = spawnSync('true').pid!;
  const live = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const goneDir = `hopwatch-store-${gone}-AbC123`;
    mkdirSync(path.join(dir, goneDir));
    writeFileSync(path.join(dir, goneDir, '1.bin'), 'x');
    const names = {
      goneFlat: `hopwatch-store-${gone}-0a1b2c3d-3.bin`,
      live: `hopwatch-store-${live.pid}-deadbeef-2.bin`,
      mine: `hopwatch-store-${process.pid}-Zz9`,
      other: `hopwatch-store-${gone}-notmine.txt`,
      unrelated: 'capture.pcap',
    };
    for (const n of Object.values(names)) writeFileSync(path.join(dir, n), 'x');
    expect(removeOrphanedInsertFiles(dir)).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(
      [names.live, names.mine, names.other, names.unrelated].sort(),
    );
    expect(removeOrphanedInsertFiles(dir)).toBe(0);
  } finally {
    live.kill();
  }
});

test('a directory that cannot be read removes nothing', () => {
  expect(removeOrphanedInsertFiles(path.join(dir, 'absent'))).toBe(0);
});

test('files are private to the process, removed after use, and the directory at close', async () => {
  const files = new InsertFiles(dir);
  const a = await files.write(Buffer.from('body a'));
  const b = await files.write(Buffer.from('body b'));
  expect(path.dirname(a)).toBe(path.dirname(b));
  expect(path.basename(path.dirname(a))).toMatch(new RegExp(`^hopwatch-store-${process.pid}-`));
  expect(statSync(path.dirname(a)).mode & 0o777).toBe(0o700);
  expect(statSync(a).mode & 0o077).toBe(0);
  await files.remove(a);
  expect(existsSync(a)).toBe(false);
  expect(existsSync(b)).toBe(true);
  files.close();
  expect(existsSync(path.dirname(b))).toBe(false);
  expect(readdirSync(dir)).toEqual([]);
});

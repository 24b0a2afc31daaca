/** Output files that alias an input are refused; writes go through a temporary file. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkOutputs, OutputFileError, sameFile, tempPathFor, writeViaTemp } from '../src';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-outfile-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const p = (n: string): string => path.join(dir, n);

test('sameFile: paths, hard links and symlinks to one file; missing files are not the same', () => {
  fs.writeFileSync(p('in'), 'data');
  fs.linkSync(p('in'), p('hard'));
  fs.symlinkSync(p('in'), p('sym'));
  expect(sameFile(p('in'), `${dir}/./in`)).toBe(true);
  expect(sameFile(p('in'), p('hard'))).toBe(true);
  expect(sameFile(p('in'), p('sym'))).toBe(true);
  expect(sameFile(p('in'), p('missing'))).toBe(false);
  fs.writeFileSync(p('other'), 'data');
  expect(sameFile(p('in'), p('other'))).toBe(false);
});

test('checkOutputs refuses aliases of inputs and of each other, directories, missing dirs', () => {
  const IN = [{ name: 'IN', path: p('in') }];
  for (const o of ['hard', 'sym', 'in'])
    expect(() => checkOutputs(IN, [{ name: 'OUT', path: p(o) }])).toThrow(/same file as IN/);
  expect(() => checkOutputs(IN, [{ name: 'OUT', path: dir }])).toThrow(/is a directory/);
  expect(() => checkOutputs(IN, [{ name: 'OUT', path: p('no/such/x') }])).toThrow(/does not exist/);
  expect(() =>
    checkOutputs(IN, [
      { name: '--out', path: p('new') },
      { name: '--labels', path: `${dir}/../${path.basename(dir)}/new` },
    ]),
  ).toThrow(OutputFileError);
  expect(() => checkOutputs(IN, [{ name: 'OUT', path: p('fresh') }])).not.toThrow();
});

test('writeViaTemp renames on success and leaves the target alone on failure', async () => {
  fs.writeFileSync(p('target'), 'old');
  await expect(
    writeViaTemp([p('target')], ([t]) => {
      fs.writeFileSync(t, 'half');
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(fs.readFileSync(p('target'), 'utf8')).toBe('old');
  const n = await writeViaTemp([p('target'), p('optional')], ([t]) => {
    fs.writeFileSync(t, 'new');
    return 7;
  });
  expect(n).toBe(7);
  expect(fs.readFileSync(p('target'), 'utf8')).toBe('new');
  expect(fs.existsSync(p('optional'))).toBe(false);
  expect(fs.readdirSync(dir).filter((f) => f.startsWith('.hopwatch-'))).toEqual([]);
  expect(path.dirname(tempPathFor(p('x.pcapng')))).toBe(dir);
  expect(tempPathFor(p('x.pcapng'))).toMatch(/\.pcapng$/);
});

test('a device is written in place, never renamed over (the node would be replaced)', async () => {
  expect(tempPathFor('/dev/null')).toBe('/dev/null');
  const n = await writeViaTemp(['/dev/null'], ([t]) => {
    expect(t).toBe('/dev/null');
    fs.writeFileSync(t, 'discarded');
    return 1;
  });
  expect(n).toBe(1);
  expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
  await expect(
    writeViaTemp(['/dev/null'], () => {
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
});

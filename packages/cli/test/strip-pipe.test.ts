/** `hopwatch strip - -`: a capture from stdin, the stripped capture on stdout (the summary on
 * stderr), byte-identical to strip between files; a reader that closes early ends it quietly
 * with nothing left behind. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const BIN = path.resolve(__dirname, '../bin/hopwatch.js');
const CAPTURE = path.resolve(__dirname, '../../../captures/int-v2.1-md-udp-dscp.pcap');

function scratch(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('hopwatch-strip-'));
}

test('strip - - equals strip IN OUT; summary on stderr; nothing left in the temp dir', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-strip-pipe-'));
  try {
    const before = scratch();
    const ref = path.join(dir, 'ref.pcap');
    const file = spawnSync('node', [BIN, 'strip', CAPTURE, ref], { encoding: 'utf8' });
    expect(file.status).toBe(0);
    const piped = spawnSync('node', [BIN, 'strip', '-', '-'], {
      input: fs.readFileSync(CAPTURE),
      maxBuffer: 64 << 20,
    });
    expect(piped.status).toBe(0);
    expect(Buffer.compare(piped.stdout, fs.readFileSync(ref))).toBe(0);
    expect(piped.stderr.toString()).toBe(file.stdout); // the same summary, on stderr
    expect(fs.existsSync(path.join(process.cwd(), '-'))).toBe(false);
    // a reader that stops after 100 bytes: exit 0, no staging directory left behind
    const head = spawnSync(
      'bash',
      ['-o', 'pipefail', '-c', `node ${BIN} strip ${CAPTURE} - | head -c 100 | wc -c`],
      { encoding: 'utf8' },
    );
    expect(head.status).toBe(0);
    expect(head.stdout.trim()).toBe('100');
    expect(scratch()).toEqual(before);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

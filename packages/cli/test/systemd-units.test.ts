/**
 * The systemd units in deploy/systemd, checked by `systemd-analyze verify` (Debian `systemd`,
 * installed by deploy/services.sh install checkers). verify needs the ExecStart binary to
 * exist: the units name the documented install path /usr/local/bin/hopwatch, so the test
 * verifies copies whose binary path is this checkout's bin/hopwatch.js, nothing else changed.
 * Skipped with the reason without systemd-analyze, unless HOPWATCH_REQUIRE_SERVICES=1.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const UNITS = path.join(ROOT, 'deploy/systemd');
const BIN = path.join(ROOT, 'packages/cli/bin/hopwatch.js');
const INSTALLED = '/usr/local/bin/hopwatch';
const have = spawnSync('systemd-analyze', ['--version']).status === 0;
const required = process.env.HOPWATCH_REQUIRE_SERVICES === '1';
if (!have && !required)
  console.warn('[systemd-units] systemd-analyze not found (apt-get install systemd): skipped');
const testIf = have || required ? test : test.skip;

const units = ['hopwatch-serve.service', 'hopwatch-ingest.service', 'hopwatch-analyze.service'];

/** systemd-analyze verify on a copy of `text` named `name`; its complaints, '' when none. */
function verify(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hopwatch-units-'));
  try {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text.split(INSTALLED).join(BIN));
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    return `${r.status === 0 ? '' : `exit ${r.status} `}${r.stdout}${r.stderr}`.trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The value of `key` in the unit (last assignment wins, as in systemd). */
function setting(text: string, key: string): string | undefined {
  let v: string | undefined;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${key}=(.*)$`).exec(line);
    if (m) v = m[1];
  }
  return v;
}

describe('systemd units', () => {
  test.each(units)('%s runs the installed binary as hopwatch, hardened', (name) => {
    const text = fs.readFileSync(path.join(UNITS, name), 'utf8');
    const cmd = name.replace(/^hopwatch-|\.service$/g, '');
    expect(setting(text, 'ExecStart')).toMatch(new RegExp(`^${INSTALLED} ${cmd} `));
    expect(setting(text, 'ExecStart')).toMatch(/--metrics-listen 127\.0\.0\.1:\d+/);
    expect(setting(text, 'User')).toBe('hopwatch');
    for (const [k, v] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['ReadWritePaths', '/var/lib/hopwatch'],
      ['Restart', 'on-failure'],
      ['EnvironmentFile', '-/etc/hopwatch/hopwatch.env'],
    ])
      expect([k, setting(text, k)]).toEqual([k, v]);
    expect(Number(setting(text, 'StartLimitBurst'))).toBeGreaterThan(0);
    // capabilities only where live capture needs them
    const caps = cmd === 'ingest' ? 'CAP_NET_RAW' : '';
    expect(setting(text, 'CapabilityBoundingSet')).toBe(caps);
    expect(setting(text, 'AmbientCapabilities')).toBe(caps);
  });

  testIf.each(units)('%s passes systemd-analyze verify', (name) => {
    expect(verify(name, fs.readFileSync(path.join(UNITS, name), 'utf8'))).toBe('');
  });

  testIf('serve with the live-capture drop-in passes verify and gets CAP_NET_RAW only', () => {
    const unit = fs.readFileSync(path.join(UNITS, 'hopwatch-serve.service'), 'utf8');
    const dropIn = fs.readFileSync(
      path.join(UNITS, 'hopwatch-serve.service.d/live-capture.conf'),
      'utf8',
    );
    // a drop-in's [Service] lines apply after the unit's: the same as appending them
    const merged = `${unit}\n${dropIn}`;
    expect(setting(merged, 'CapabilityBoundingSet')).toBe('CAP_NET_RAW');
    expect(verify('hopwatch-serve.service', merged)).toBe('');
  });

  testIf('verify finds a broken unit (the check can fail)', () => {
    const unit = fs.readFileSync(path.join(UNITS, 'hopwatch-analyze.service'), 'utf8');
    expect(verify('hopwatch-analyze.service', unit.replace('Restart=', 'Restrat='))).toMatch(
      /Restrat/,
    );
    expect(
      verify('hopwatch-analyze.service', unit.split(INSTALLED).join('/nonexistent/hw')),
    ).toMatch(/not executable|No such file/);
  });
});

/**
 * Real flow collectors for the IPFIX export tests, on 127.0.0.1: nfdump's nfcapd, GoFlow2
 * (built by `deploy/services.sh install collectors`) and a tshark capture of the loopback.
 * Each start function returns a handle whose stop() ends the process it started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts, REPO_ROOT } from './runner';

export interface CollectorsAvailability {
  nfcapd: boolean;
  goflow2: boolean;
  tshark: boolean;
}

/** GoFlow2's binary: deploy/.cache/bin/goflow2, else on PATH. */
export function goflow2Path(): string | null {
  const cached = path.join(REPO_ROOT, 'deploy', '.cache', 'bin', 'goflow2');
  if (fs.existsSync(cached)) return cached;
  const r = spawnSync('sh', ['-c', 'command -v goflow2'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const has = (cmd: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;

export function collectorsAvailable(): CollectorsAvailability {
  return {
    nfcapd: has('nfcapd') && has('nfdump'),
    goflow2: goflow2Path() !== null,
    tshark: has('tshark'),
  };
}

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `hopwatch-${name}-`));

function waitFor(p: ChildProcess, out: () => string, re: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (re.test(out())) return resolve();
      if (p.exitCode !== null) return reject(new Error(`exited (${p.exitCode}): ${out()}`));
      if (Date.now() - t0 > ms) return reject(new Error(`not ready after ${ms} ms: ${out()}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

/** One flow as nfdump prints it with `-o json` (the fields the tests read). */
export interface NfdumpFlow {
  first: string;
  last: string;
  in_packets: number;
  in_bytes: number;
  proto: number;
  src_port: number;
  dst_port: number;
  src4_addr?: string;
  dst4_addr?: string;
  src6_addr?: string;
  dst6_addr?: string;
  input_snmp: number;
  output_snmp: number;
  src_vlan: number;
  [k: string]: unknown;
}

export interface CollectorHandle<T> {
  port: number;
  /** Stops the collector (it writes what it has) and returns the flows it stored. */
  stop(): Promise<T[]>;
  /** What the collector printed, for failure messages. */
  log(): string;
}

/** nfcapd on 127.0.0.1: stop() ends it (it writes its file) and reads the file with nfdump. */
export async function startNfcapd(): Promise<CollectorHandle<NfdumpFlow>> {
  const [port] = await freePorts(1);
  const dir = tmp('nfcapd');
  let out = '';
  const p = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  await waitFor(p, () => out, /Startup nfcapd|Init IPFIX/, 10_000);
  return {
    port,
    log: () => out,
    stop: async () => {
      await stopProcess(p);
      const r = spawnSync('nfdump', ['-R', dir, '-o', 'json'], {
        encoding: 'utf8',
        env: { ...process.env, TZ: 'UTC' },
      });
      fs.rmSync(dir, { recursive: true, force: true });
      const text = r.stdout.trim();
      return text ? (JSON.parse(text) as NfdumpFlow[]) : [];
    },
  };
}

/** One flow as GoFlow2 prints it (`-format json`). */
export interface GoflowFlow {
  type: string;
  time_flow_start_ns: number;
  time_flow_end_ns: number;
  bytes: number;
  packets: number;
  src_addr: string;
  dst_addr: string;
  proto: string;
  src_port: number;
  dst_port: number;
  in_if: number;
  out_if: number;
  vlan_id: number;
  sequence_num: number;
  observation_domain_id: number;
  [k: string]: unknown;
}

/** GoFlow2 listening for NetFlow v9 / IPFIX on 127.0.0.1, JSON lines into a file. */
export async function startGoflow2(): Promise<CollectorHandle<GoflowFlow>> {
  const bin = goflow2Path();
  if (!bin) throw new Error('goflow2 is not installed: deploy/services.sh install collectors');
  const [port] = await freePorts(1);
  const dir = tmp('goflow2');
  const file = path.join(dir, 'flows.json');
  let out = '';
  const p = spawn(
    bin,
    [
      '-listen',
      `netflow://127.0.0.1:${port}`,
      '-transport.file',
      file,
      '-format',
      'json',
      '-addr',
      '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  await waitFor(p, () => out, /starting collection|listening|msg="starting/i, 10_000);
  return {
    port,
    log: () => out,
    stop: async () => {
      await stopProcess(p);
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      fs.rmSync(dir, { recursive: true, force: true });
      // 64-bit ns times: parse them as strings so that no digit is lost
      // its workers write to the file concurrently: a line can hold two records
      return text
        .replace(/\}\s*\{"type"/g, '}\n{"type"')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l.replace(/"(time_\w+_ns)":(\d+)/g, '"$1":"$2"')) as GoflowFlow);
    },
  };
}

export interface LoopbackCapture {
  /** Ends the capture and returns the pcap file (the caller removes it). */
  stop(): Promise<string>;
}

/**
 * tshark capturing UDP to `port` on the loopback into a pcap file. tshark says "Capturing on"
 * a moment before its filter is in place, so this returns only once a probe datagram (to
 * `port + 1`, also captured; not to `port`, whose dissection it would disturb) shows in the
 * file: nothing sent to `port` afterwards is missed.
 */
export async function captureLoopback(port: number): Promise<LoopbackCapture> {
  const dir = tmp('capture');
  const file = path.join(dir, 'lo.pcap');
  let out = '';
  const p = spawn(
    'tshark',
    ['-i', 'lo', '-f', `udp and (port ${port} or port ${port + 1})`, '-F', 'pcap', '-w', file],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  await waitFor(p, () => out, /Capturing on/, 15_000);
  const probe = dgram.createSocket('udp4');
  try {
    const t0 = Date.now();
    for (;;) {
      probe.send(Buffer.from('probe'), port + 1, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      if (size > 24) break; // more than the pcap file header
      if (Date.now() - t0 > 15_000 || p.exitCode !== null)
        throw new Error(`capture never started: ${out}`);
    }
  } finally {
    probe.close();
  }
  return {
    stop: async () => {
      // let the last packets reach the capture before it ends
      await new Promise((r) => setTimeout(r, 300));
      await stopProcess(p);
      return file;
    },
  };
}

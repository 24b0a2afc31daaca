/**
 * Which switch a drop names. The quality scoring accepts a silent drop that shares a flow with
 * its label (the switch of a silent drop is inferred); here every bundled capture with a labelled
 * drop must also name the labelled switch, including when the dropped flows share more than one
 * switch (drops.pcap: leaf 4 and spine 102 are on every dropped flow's path; flows that kept
 * crossing leaf 4 through spine 101 clear it).
 */
import * as path from 'path';
import { openCapture } from '@hopwatch/pcap';
import { loadScenario } from '@hopwatch/simulator';
import { parseLabels, type Anomaly } from '../src';
import { replayCapture } from './replay';
import * as fs from 'fs';

const DIR = path.resolve(__dirname, '../../../captures');

function drops(name: string): Anomaly[] {
  const scenario = loadScenario(path.join(DIR, `${name}.yaml`));
  const { found } = replayCapture(openCapture(path.join(DIR, `${name}.pcap`)), scenario);
  return found.filter((a) => a.type === 'drop');
}

const CASES = [
  'drops',
  'drops-reports',
  'blackhole-persistent',
  'blackhole-transient',
  'blackhole-short-flow',
  'several-at-once',
];

test.each(CASES)('%s: every drop names the labelled switch', (name) => {
  const labels = parseLabels(fs.readFileSync(path.join(DIR, `${name}.labels.json`), 'utf8'));
  const want = labels.anomalies.filter((l) => l.type === 'drop').map((l) => l.switchId);
  const found = drops(name);
  expect(found.length).toBe(want.length);
  expect(found.map((a) => (a.type === 'drop' ? a.switchId : null))).toEqual(want);
});

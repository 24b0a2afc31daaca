/** The order of the replay summary's tables: meaningful on ties, and the same in every run. */
import type { Anomaly, QueueLatency } from '@hopwatch/analytics';
import { rankAnomalies, rankByOccupancy, rankSlowest } from '../src/summary';

const queue = (
  switchId: number,
  egressPort: number,
  p99: number | null,
  max: number | null,
  count: number,
  maxOccupancy: number | null = null,
): QueueLatency => ({
  switchId,
  egressPort,
  queueId: 0,
  count,
  p50: null,
  p90: null,
  p99,
  max,
  maxOccupancy,
});

test('slowest hops: a p99 tie goes to the larger max, then more packets, then the queue key', () => {
  const burst = queue(2, 1, 339.5, 45_000, 120); // a short 45 µs burst under a tied p99
  const list = [
    queue(1, 5, 339.5, 340, 900),
    queue(4, 3, 339.5, 340, 77),
    queue(3, 1, 339.5, 340, 77),
    burst,
    queue(101, 2, 459.5, 478, 495),
    queue(9, 9, null, null, 3),
  ];
  const keys = rankSlowest(list).map((q) => `${q.switchId}/${q.egressPort}`);
  expect(keys).toEqual(['101/2', '2/1', '1/5', '3/1', '4/3', '9/9']);
  // input order does not matter
  expect(rankSlowest([...list].reverse())).toEqual(rankSlowest(list));
});

test('peak occupancy: largest first, ties in the slowest order, queues without occupancy out', () => {
  const list = [
    queue(1, 1, 300, 300, 10, 50),
    queue(2, 2, 900, 900, 10, 50),
    queue(3, 3, 100, 100, 10, null),
    queue(4, 4, 100, 100, 10, 70),
  ];
  expect(rankByOccupancy(list).map((q) => q.switchId)).toEqual([4, 2, 1]);
});

test('anomalies: by type, then start, then id', () => {
  const a = (type: Anomaly['type'], start: bigint, id: string): Anomaly =>
    ({ type, start, end: start, id, packets: 1 }) as unknown as Anomaly;
  const list = [
    a('path_change', 5n, 'p-b'),
    a('path_change', 5n, 'p-a'),
    a('microburst', 9n, 'm'),
    a('microloop', 7n, 'l'),
    a('path_change', 1n, 'p-c'),
  ];
  expect(rankAnomalies(list).map((x) => x.id)).toEqual(['l', 'm', 'p-c', 'p-a', 'p-b']);
  expect(rankAnomalies([...list].reverse()).map((x) => x.id)).toEqual(
    rankAnomalies(list).map((x) => x.id),
  );
});

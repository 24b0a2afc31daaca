/** The v2 anomaly JSON (topic and --anomalies file): ns times as strings with RFC 3339 beside. */
import { nsToRfc3339 } from '@hopwatch/codec';
import { anomalyToJson } from '../src';

test('nsToRfc3339 keeps all nine fraction digits, also zeros, and floors before 1970', () => {
  expect(nsToRfc3339(1767225600000605827n)).toBe('2026-01-01T00:00:00.000605827Z');
  expect(nsToRfc3339(1767225600000000000n)).toBe('2026-01-01T00:00:00.000000000Z');
  expect(nsToRfc3339(0n)).toBe('1970-01-01T00:00:00.000000000Z');
  expect(nsToRfc3339(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
  expect(nsToRfc3339(18446744073709551615n)).toBe('2554-07-21T23:34:33.709551615Z');
});

test('anomalyToJson: start/end as exact strings, their RFC 3339 right after, the rest unchanged', () => {
  const a = {
    type: 'path_change',
    id: 'p1',
    start: 1767225600002202971n,
    end: 1767225600002206437n,
    packets: 1,
    oldPath: [2, 102, 4],
  };
  const text = anomalyToJson(a);
  expect(text).toBe(
    '{"type":"path_change","id":"p1","start":"1767225600002202971",' +
      '"startTime":"2026-01-01T00:00:00.002202971Z","end":"1767225600002206437",' +
      '"endTime":"2026-01-01T00:00:00.002206437Z","packets":1,"oldPath":[2,102,4]}',
  );
  // what a bare number would have become in JSON.parse
  expect(String(Number(a.start))).not.toBe(a.start.toString());
  expect(BigInt(JSON.parse(text).start)).toBe(a.start);
});

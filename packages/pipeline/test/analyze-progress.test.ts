/**
 * Group progress of the analyze worker (consumer lag, "has the group consumed everything")
 * read through the transport's OffsetAdmin, here the in-process broker's.
 */
import { InProcessBroker, InProcessOffsetAdmin, TOPIC_QUEUES, TOPIC_RECORDS } from '../src';
import { createLogger } from '../src/metrics/log';
import { emptyAnalyzeStats } from '../src/distributed/analyze/metrics';
import { PartitionTable } from '../src/distributed/analyze/partitions';
import { GroupProgress } from '../src/distributed/analyze/progress';

function setup(): { broker: InProcessBroker; parts: PartitionTable; admin: InProcessOffsetAdmin } {
  const broker = new InProcessBroker(2);
  broker.createTopic(TOPIC_RECORDS);
  broker.createTopic(TOPIC_QUEUES);
  for (let i = 0; i < 10; i++)
    broker.append(TOPIC_RECORDS, { key: 'k', value: Buffer.of(i), partition: 0 });
  for (let i = 0; i < 4; i++)
    broker.append(TOPIC_QUEUES, { key: 'q', value: Buffer.of(i), partition: 1 });
  const parts = new PartitionTable({
    redis: null,
    log: createLogger({ level: 'silent' }),
    stats: emptyAnalyzeStats(),
    onOpen: () => undefined,
  });
  return { broker, parts, admin: new InProcessOffsetAdmin(broker) };
}

test('lag: partition end minus the next offset this worker expects; kept while the admin fails', async () => {
  const { parts, admin } = setup();
  const rec = await parts.open(TOPIC_RECORDS, 0, 'records', 0);
  const progress = new GroupProgress({ admin, groupId: 'g', parts });
  await progress.updateLag();
  expect([...progress.lag]).toEqual([[`${TOPIC_RECORDS}/0`, 10]]);
  rec.expect = 7;
  await progress.updateLag();
  expect(progress.lag.get(`${TOPIC_RECORDS}/0`)).toBe(3);
  await admin.close();
  rec.expect = 10;
  await progress.updateLag();
  expect(progress.lag.get(`${TOPIC_RECORDS}/0`)).toBe(3);
});

test('caught up only when every group (records; detectors) committed its partitions to the end', async () => {
  const { broker, parts, admin } = setup();
  await parts.open(TOPIC_RECORDS, 0, 'records', 0);
  await parts.open(TOPIC_QUEUES, 1, 'queues', 0);
  const progress = new GroupProgress({ admin, groupId: 'g', detectorGroupId: 'g-det', parts });
  expect(await progress.caughtUp()).toBe(false);
  broker.commit('g', TOPIC_RECORDS, 0, 10);
  expect(await progress.caughtUp()).toBe(false); // the queues topic is the detector group's
  broker.commit('g', TOPIC_QUEUES, 1, 4);
  expect(await progress.caughtUp()).toBe(false);
  broker.commit('g-det', TOPIC_QUEUES, 1, 4);
  expect(await progress.caughtUp()).toBe(true);
  // without an admin (or a group) there is nothing to wait for
  expect(await new GroupProgress({ parts }).caughtUp()).toBe(true);
  await admin.close();
  expect(await progress.caughtUp()).toBe(false);
});

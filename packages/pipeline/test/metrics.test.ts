import * as http from 'node:http';
import { Users } from '@hopwatch/store';
import { createLogger, Registry, serveMetrics } from '../src';

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
        );
      })
      .on('error', reject);
  });
}

describe('metrics registry', () => {
  test('exposition format is exact', () => {
    const r = new Registry();
    const c = r.counter('hopwatch_messages_total', 'Messages sent.\nBy topic \\ outcome.', [
      'topic',
      'outcome',
    ]);
    c.inc({ topic: 'hopwatch.records.v1', outcome: 'sent' }, 3);
    c.inc({ topic: 'hopwatch.records.v1', outcome: 'shed' });
    c.inc({ topic: 'a"b\\c\nd', outcome: 'sent' }, 0.5);
    const g = r.gauge('hopwatch_queue_bytes', 'Queued bytes.');
    g.set(1024);
    g.dec(24);
    const g2 = r.gauge('hopwatch_up', 'Collected on scrape.', ['broker'], (x) =>
      x.set({ broker: 'b0' }, 1),
    );
    expect(g2).toBeDefined();
    const h = r.histogram('hopwatch_handler_seconds', 'Handler time.', ['topic'], [0.1, 1, 0.5]);
    h.observe({ topic: 't' }, 0.05);
    h.observe({ topic: 't' }, 0.7);
    h.observe({ topic: 't' }, 3);
    const plain = r.counter('hopwatch_plain_total', 'No labels.');
    plain.inc();
    const gi = r.gauge('hopwatch_special', 'Special values.', ['k']);
    gi.set({ k: 'inf' }, Infinity);
    gi.set({ k: 'nan' }, NaN);
    expect(r.expose()).toBe(
      [
        '# HELP hopwatch_messages_total Messages sent.\\nBy topic \\\\ outcome.',
        '# TYPE hopwatch_messages_total counter',
        'hopwatch_messages_total{topic="hopwatch.records.v1",outcome="sent"} 3',
        'hopwatch_messages_total{topic="hopwatch.records.v1",outcome="shed"} 1',
        'hopwatch_messages_total{topic="a\\"b\\\\c\\nd",outcome="sent"} 0.5',
        '# HELP hopwatch_queue_bytes Queued bytes.',
        '# TYPE hopwatch_queue_bytes gauge',
        'hopwatch_queue_bytes 1000',
        '# HELP hopwatch_up Collected on scrape.',
        '# TYPE hopwatch_up gauge',
        'hopwatch_up{broker="b0"} 1',
        '# HELP hopwatch_handler_seconds Handler time.',
        '# TYPE hopwatch_handler_seconds histogram',
        'hopwatch_handler_seconds_bucket{topic="t",le="0.1"} 1',
        'hopwatch_handler_seconds_bucket{topic="t",le="0.5"} 1',
        'hopwatch_handler_seconds_bucket{topic="t",le="1"} 2',
        'hopwatch_handler_seconds_bucket{topic="t",le="+Inf"} 3',
        'hopwatch_handler_seconds_sum{topic="t"} 3.75',
        'hopwatch_handler_seconds_count{topic="t"} 3',
        '# HELP hopwatch_plain_total No labels.',
        '# TYPE hopwatch_plain_total counter',
        'hopwatch_plain_total 1',
        '# HELP hopwatch_special Special values.',
        '# TYPE hopwatch_special gauge',
        'hopwatch_special{k="inf"} +Inf',
        'hopwatch_special{k="nan"} NaN',
        '',
      ].join('\n'),
    );
  });

  test('validation', () => {
    const r = new Registry();
    expect(() => r.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => r.histogram('h', 'x', ['le'])).toThrow(/invalid label/);
    const c = r.counter('c_total', 'x', ['a']);
    expect(() => c.inc({ a: '1' }, -1)).toThrow(/only increase/);
    expect(() => c.inc({ b: '1' })).toThrow(/no label/);
    expect(() => c.inc()).toThrow(/needs label/);
    expect(r.counter('c_total', 'x', ['a'])).toBe(c);
    expect(() => r.gauge('c_total', 'x')).toThrow(/already registered/);
    const h = r.histogram('empty_seconds', 'x');
    expect(h.samples()).toContain('empty_seconds_bucket{le="+Inf"} 0\n');
  });

  test('serveMetrics serves /metrics on 127.0.0.1', async () => {
    const r = new Registry();
    r.counter('x_total', 'X.').inc(2);
    const srv = await serveMetrics(0, r);
    try {
      expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await get(srv.url);
      expect(res.status).toBe(200);
      expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(res.body).toBe('# HELP x_total X.\n# TYPE x_total counter\nx_total 2\n');
      expect((await get(srv.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await srv.close();
    }
  });
});

describe('metrics endpoint with users', () => {
  test('scrapes need a configured user (basic auth); anonymous and wrong ones get 401', async () => {
    process.env.HOPWATCH_TEST_METRICS_PW = 'scrape me';
    const r = new Registry();
    r.counter('y_total', 'Y.').inc();
    const users = Users.fromConfig({ prom: { password_env: 'HOPWATCH_TEST_METRICS_PW' } });
    const srv = await serveMetrics(0, r, '127.0.0.1', { users });
    try {
      expect(srv.warnings).toEqual([]);
      const auth = (u: string, p: string): Record<string, string> => ({
        Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64'),
      });
      const ok = await fetch(srv.url, { headers: auth('prom', 'scrape me') });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/^y_total 1$/m);
      for (const h of [{}, auth('prom', 'nope'), auth('other', 'scrape me')]) {
        const res = await fetch(srv.url, { headers: h });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
        expect(await res.text()).not.toMatch(/y_total/);
      }
    } finally {
      await srv.close();
    }
  });
});

describe('logger', () => {
  test('one JSON object per line, level filter, child fields, errors', () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      write: (l) => lines.push(l),
      now: () => new Date('2026-01-02T03:04:05.000Z'),
      fields: { component: 'test' },
    });
    log.debug('hidden');
    log.info('hello', { n: 1, big: 10n });
    log.child({ worker: 3 }).error('boom', { err: new Error('bad') });
    log.level = 'error';
    log.warn('hidden too');
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        ts: '2026-01-02T03:04:05.000Z',
        level: 'info',
        msg: 'hello',
        component: 'test',
        n: 1,
        big: '10',
      },
      {
        ts: '2026-01-02T03:04:05.000Z',
        level: 'error',
        msg: 'boom',
        component: 'test',
        worker: 3,
        err: { name: 'Error', message: 'bad' },
      },
    ]);
    expect(log.enabled('warn')).toBe(false);
  });
});

describe('transport metrics', () => {
  test('producer and consumer stats are exposed at scrape time', async () => {
    const { InProcessBroker, InProcessProducer, InProcessConsumer } = await import('../src');
    const { instrumentProducer, instrumentConsumer } = await import('../src');
    const broker = new InProcessBroker(1);
    const p = new InProcessProducer(broker, { maxQueuedMessages: 1 });
    const r = new Registry();
    instrumentProducer(r, p, 'ingest-0');
    const c = new InProcessConsumer(broker, { groupId: 'g', topics: ['t'] });
    instrumentConsumer(r, c, 'analytics-0');
    broker.available = false;
    p.send('t', [
      { key: 'a', value: new Uint8Array(3) },
      { key: 'b', value: new Uint8Array(3) },
    ]);
    const text = r.expose();
    expect(text).toContain('hopwatch_producer_queued_messages{producer="ingest-0"} 1\n');
    expect(text).toContain('hopwatch_producer_queued_bytes{producer="ingest-0"} 4\n');
    expect(text).toContain(
      'hopwatch_producer_shed_total{producer="ingest-0",reason="queue_full"} 1\n',
    );
    expect(text).toContain('hopwatch_producer_sent_total{producer="ingest-0"} 0\n');
    expect(text).toContain(
      '# TYPE hopwatch_consumer_commits_total counter\nhopwatch_consumer_commits_total{consumer="analytics-0"} 0\n',
    );
  });

  test('two consumers on one registry are both exposed (analyze: records and detector groups)', async () => {
    const { InProcessBroker, InProcessProducer, InProcessConsumer } = await import('../src');
    const { instrumentConsumer } = await import('../src');
    const broker = new InProcessBroker(1);
    const r = new Registry();
    const records = new InProcessConsumer(broker, { groupId: 'g', topics: ['records'] });
    const detectors = new InProcessConsumer(broker, { groupId: 'g.d', topics: ['queues'] });
    instrumentConsumer(r, records, 'g');
    instrumentConsumer(r, detectors, 'g.d');
    const p = new InProcessProducer(broker);
    p.send('queues', [{ key: 'q', value: new Uint8Array(1) }]);
    let handled = 0;
    await detectors.run(async () => {
      handled++;
    });
    for (let i = 0; i < 100 && handled === 0; i++) await new Promise((res) => setTimeout(res, 10));
    await detectors.close();
    await records.close();
    const text = r.expose();
    expect(text).toContain('hopwatch_consumer_messages_total{consumer="g"} 0\n');
    expect(text).toContain('hopwatch_consumer_messages_total{consumer="g.d"} 1\n');
  });

  test('two producers on one registry are both exposed', async () => {
    const { InProcessBroker, InProcessProducer } = await import('../src');
    const { instrumentProducer } = await import('../src');
    const broker = new InProcessBroker(1);
    broker.available = false; // messages stay queued
    const r = new Registry();
    const a = new InProcessProducer(broker);
    const b = new InProcessProducer(broker);
    instrumentProducer(r, a, 'a');
    instrumentProducer(r, b, 'b');
    a.send('t', [{ key: 'k', value: new Uint8Array(1) }]);
    b.send('t', [
      { key: 'k', value: new Uint8Array(1) },
      { key: 'l', value: new Uint8Array(1) },
    ]);
    const text = r.expose();
    expect(text).toContain('hopwatch_producer_queued_messages{producer="a"} 1\n');
    expect(text).toContain('hopwatch_producer_queued_messages{producer="b"} 2\n');
  });
});

/** Every hopwatch error class shares one base (HopwatchError, in @hopwatch/codec), keeps its
 * own name, and carries `cause` and `retriable`. */
import { ConfigError, HopwatchError, makeConfig } from '@hopwatch/codec';
import { CaptureFormatError, OutputFileError, readCaptureBuffer } from '@hopwatch/pcap';
import { WireError } from '@hopwatch/pipeline';
import { ScenarioError } from '@hopwatch/simulator';
import { ParamError, RequestRefusal, StoreError } from '@hopwatch/store';
import { UsageError } from '../src/errors';

test('the nine error classes extend HopwatchError and keep their names', () => {
  const cases: [Error, string][] = [
    [new UsageError('u'), 'UsageError'],
    [new ConfigError('c'), 'ConfigError'],
    [new CaptureFormatError('bad magic', 0), 'CaptureFormatError'],
    [new WireError('w'), 'WireError'],
    [new ScenarioError('s'), 'ScenarioError'],
    [new StoreError('st', { code: 60 }), 'StoreError'],
    [new ParamError('p'), 'ParamError'],
    [new OutputFileError('o'), 'OutputFileError'],
    [new RequestRefusal('r', 400, 62, 'SYNTAX_ERROR'), 'RequestRefusal'],
  ];
  for (const [e, name] of cases) {
    expect(e).toBeInstanceOf(HopwatchError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe(name);
    expect((e as HopwatchError).retriable).toBe(false);
    expect(e.cause).toBeUndefined();
  }
  // the classes stay distinct: the CLI maps some of them and not others
  expect(new ConfigError('c')).not.toBeInstanceOf(UsageError);
});

test('cause and retriable pass through; class-specific fields and messages are unchanged', () => {
  const down = new Error('ECONNREFUSED');
  const se = new StoreError('insert failed', {
    code: 210,
    sql: 'INSERT',
    cause: down,
    retriable: true,
  });
  expect(se).toMatchObject({ code: 210, sql: 'INSERT', retriable: true, message: 'insert failed' });
  expect(se.cause).toBe(down);
  expect(new UsageError('bad flag', { cause: down }).cause).toBe(down);
  expect(new WireError('short').message).toBe('hopwatch wire: short');
  const cf = new CaptureFormatError('truncated record', 24, true);
  expect(cf).toMatchObject({ offset: 24, truncated: true, reason: 'truncated record' });
  expect(cf.message).toBe('truncated record (at byte offset 24)');
});

test('errors thrown by the packages are HopwatchErrors', () => {
  expect(() => makeConfig('no-such-profile')).toThrow(HopwatchError);
  expect(() => readCaptureBuffer(Buffer.from('not a capture at all'))).toThrow(HopwatchError);
});

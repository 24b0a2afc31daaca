import {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { isMetadataLag } from '../src/transport/kafka';

test('metadata-lag errors (waited out when a consumer starts) vs everything else', () => {
  const unknown = new KafkaJSProtocolError({
    message: 'This server does not host this topic-partition',
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
    code: 3,
    retriable: true,
  } as never);
  expect(isMetadataLag(unknown)).toBe(true);
  expect(
    isMetadataLag(new KafkaJSNumberOfRetriesExceeded(unknown, { retryCount: 5, retryTime: 100 })),
  ).toBe(true);
  const coordinator = new KafkaJSProtocolError({
    message: 'The coordinator is not available',
    type: 'COORDINATOR_NOT_AVAILABLE',
    code: 15,
    retriable: true,
  } as never);
  expect(isMetadataLag(coordinator)).toBe(true);
  expect(isMetadataLag(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))).toBe(false);
  const auth = new KafkaJSProtocolError({
    message: 'Not authorized to access topics',
    type: 'TOPIC_AUTHORIZATION_FAILED',
    code: 29,
    retriable: false,
  } as never);
  expect(isMetadataLag(auth)).toBe(false);
  expect(isMetadataLag(new Error('x'))).toBe(false);
  expect(isMetadataLag(undefined)).toBe(false);
});

/** Whether the services' binaries / jars are installed, so tests can skip cleanly. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './runner';

export type ServiceName = 'kafka' | 'clickhouse' | 'redis';

export interface ServicesAvailability {
  kafka: boolean;
  clickhouse: boolean;
  redis: boolean;
}

function onPath(name: string): boolean {
  const dirs = (process.env.PATH ?? '')
    .split(path.delimiter)
    .concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  return dirs.some((d) => {
    if (!d) return false;
    try {
      fs.accessSync(path.join(d, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Where `deploy/services.sh install kafka` puts Kafka (libs/ holds the jars). */
export function kafkaHome(): string {
  return process.env.HOPWATCH_KAFKA_HOME ?? path.join(REPO_ROOT, 'deploy', '.cache', 'kafka');
}

/** Same checks as deploy/services.sh `status` (installed=yes|no), without running anything. */
export function servicesAvailable(): ServicesAvailability {
  let kafkaJar = false;
  try {
    kafkaJar = fs
      .readdirSync(path.join(kafkaHome(), 'libs'))
      .some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
  } catch {
    kafkaJar = false;
  }
  return {
    kafka: kafkaJar && onPath('java'),
    clickhouse: onPath('clickhouse-server') || onPath('clickhouse'),
    redis: onPath('redis-server') && onPath('redis-cli'),
  };
}

/** A one-line explanation for a skipped test, e.g. in a describe() title or console.warn. */
export function unavailableMessage(service: ServiceName): string {
  return `${service} is not installed here; run \`deploy/services.sh install ${service}\` to enable these tests`;
}

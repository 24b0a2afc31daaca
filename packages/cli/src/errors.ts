import { HopwatchError, type HopwatchErrorOptions } from '@hopwatch/codec';

/** An error the user can fix (bad flag, bad config, missing file): printed without a stack. */
export class UsageError extends HopwatchError {
  constructor(message: string, opts?: HopwatchErrorOptions) {
    super(message, opts);
    this.name = 'UsageError';
  }
}

/**
 * The exit codes of every command (docs/cli.md): 0 done; 1 a failure while running (I/O,
 * store, Kafka) or the check the command makes failed (verify's violations, strip
 * --fail-on-refused); 2 the user's mistake (flag, config, missing input, output = input);
 * 3 the input had errors (a capture corrupt, truncated or not a capture at all).
 */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, INPUT: 3 } as const;

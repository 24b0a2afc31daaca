import { HopwatchError, type HopwatchErrorOptions } from '@hopwatch/codec';

/** An error the user can fix (bad flag, bad config, missing file): printed without a stack. */
export class UsageError extends HopwatchError {
  constructor(message: string, opts?: HopwatchErrorOptions) {
    super(message, opts);
    this.name = 'UsageError';
  }
}

import { HopwatchError, type HopwatchErrorOptions } from '@hopwatch/codec';

/**
 * Raised for input that is not a capture we can read. `offset` is the byte position in the
 * input where the problem starts, so a caller can point at it (or count it) precisely.
 */
export class CaptureFormatError extends HopwatchError {
  readonly offset: number;
  readonly reason: string;
  /** True when the input simply ended in the middle of a header, block or record. */
  readonly truncated: boolean;

  constructor(reason: string, offset: number, truncated = false, opts?: HopwatchErrorOptions) {
    super(`${reason} (at byte offset ${offset})`, opts);
    this.name = 'CaptureFormatError';
    this.reason = reason;
    this.offset = offset;
    this.truncated = truncated;
  }
}

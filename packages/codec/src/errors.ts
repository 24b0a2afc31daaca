/**
 * The base of hopwatch's own errors (bad input, bad configuration, a failed store call...):
 * `instanceof HopwatchError` tells them from bugs and library errors, `retriable` says whether
 * the same call may succeed later (a service down) or never will (bad input). It lives here,
 * in the package every other one depends on (pcap included, which depends on nothing else).
 */
export interface HopwatchErrorOptions {
  /** The error this one wraps (Error.cause). */
  cause?: unknown;
  /** Whether retrying the same operation may succeed (default false). */
  retriable?: boolean;
}

export class HopwatchError extends Error {
  readonly retriable: boolean;

  constructor(message: string, opts: HopwatchErrorOptions = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'HopwatchError';
    this.retriable = opts.retriable ?? false;
  }
}

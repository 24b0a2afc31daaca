/** An error the user can fix (bad flag, bad config, missing file): printed without a stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

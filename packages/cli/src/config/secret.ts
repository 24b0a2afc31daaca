/**
 * Secrets (passwords) come from a file or an environment variable, never from the command
 * line (other users see it in the process list) or inline in the config file. Errors name
 * where the secret was looked for, never the secret.
 */
import { readFileSync, statSync } from 'fs';
import { UsageError } from '../errors';

export interface SecretRef {
  /** A file holding the secret on its first line. */
  file?: string;
  /** An environment variable holding it. */
  env?: string;
}

/** The secret of `ref` (`what` names the setting in errors); exactly one source must be set. */
export function readSecret(
  what: string,
  ref: SecretRef,
  env: NodeJS.ProcessEnv = process.env,
  warn?: (line: string) => void,
): string {
  if ((ref.file === undefined) === (ref.env === undefined))
    throw new UsageError(
      `${what}: give the password in a file or an environment variable (one of them)`,
    );
  if (ref.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(ref.file, 'utf8');
    } catch (e) {
      throw new UsageError(
        `${what}: cannot read the password file ${ref.file}: ${(e as Error).message}`,
      );
    }
    const pw = text.split(/\r?\n/, 1)[0];
    if (!pw) throw new UsageError(`${what}: the password file ${ref.file} is empty`);
    // like ssh with its keys: say so, but do not refuse (containers often mount files 0644)
    if (warn && (statSync(ref.file).mode & 0o077) !== 0)
      warn(`${what}: the password file ${ref.file} is readable by other users (chmod 600 it)`);
    return pw;
  }
  const name = ref.env!;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new UsageError(`${what}: '${name}' is not an environment variable name`);
  const pw = env[name];
  if (!pw) throw new UsageError(`${what}: the environment variable ${name} is not set or empty`);
  return pw;
}

/**
 * The preamble every command shares: parse the flags (strict: an unknown flag is a usage
 * error), print the help and stop on --help/-h, load and check the config file of --config.
 */
import { parseArgs, type ParseArgsConfig } from 'util';
import { checkOutputs, type NamedPath } from '@hopwatch/pcap';
import { loadConfigFile, type HopwatchConfig } from './config-file';
import { UsageError } from './errors';

export const COMMON_OPTIONS = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** What `hopwatch --version` and `hopwatch CMD --version` print. */
export const VERSION_LINE = 'hopwatch 0.1.0';

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

/** The parsed value of each option: absent when not given. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K] extends { multiple: true }
    ? string[]
    : O[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  help: string;
  options: O;
  /** Whether the command takes positional arguments (files, SQL). */
  positionals?: boolean;
}

export interface Invocation<O extends Record<string, OptionSpec>> {
  values: OptionValues<O & typeof COMMON_OPTIONS>;
  positionals: string[];
  config: HopwatchConfig;
}

/**
 * Refuses outputs that would overwrite an input or the --config file (by device and inode:
 * another path, a hard link or a symlink to it), or that sit in a missing directory.
 */
export function checkOutputFiles(
  cmd: Invocation<Record<string, OptionSpec>>,
  inputs: NamedPath[],
  outputs: NamedPath[],
): void {
  const config = cmd.values.config;
  try {
    checkOutputs(config ? [...inputs, { name: '--config', path: config }] : inputs, outputs);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Parses argv; null when the help or version was printed (the command then exits 0). */
export function parseCommand<O extends Record<string, OptionSpec>>(
  argv: string[],
  spec: CommandSpec<O>,
  out: NodeJS.WritableStream = process.stdout,
): Invocation<O> | null {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: spec.positionals === true,
    strict: true,
    options: { ...spec.options, ...COMMON_OPTIONS } as NonNullable<ParseArgsConfig['options']>,
  });
  if (values.help) {
    out.write(spec.help + '\n');
    return null;
  }
  if (values.version) {
    out.write(VERSION_LINE + '\n');
    return null;
  }
  const config = loadConfigFile(values.config as string | undefined);
  return { values: values as OptionValues<O & typeof COMMON_OPTIONS>, positionals, config };
}

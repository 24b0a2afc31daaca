export async function main(argv: string[]): Promise<void> {
  process.stdout.write(`hopwatch ${argv.join(' ')}\n`);
}

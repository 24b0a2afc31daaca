/** Raw bytes to a TCP server on 127.0.0.1, for tests of malformed HTTP. */
import * as net from 'node:net';

/** Sends `bytes` to 127.0.0.1:`port`; resolves with what came back before the close or `waitMs`. */
export function rawRequest(port: number, bytes: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    s.write(bytes);
    setTimeout(() => {
      s.destroy();
      resolve(got);
    }, waitMs);
  });
}

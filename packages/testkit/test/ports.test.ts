/** freePorts: server ports that an outgoing connection cannot take before the server binds. */
import * as net from 'node:net';
import { ephemeralPortStart, freePorts } from '@hopwatch/testkit';

test('freePorts gives distinct, bindable ports below the kernel ephemeral range', async () => {
  const ports = await freePorts(12);
  expect(new Set(ports).size).toBe(12);
  const top = ephemeralPortStart();
  expect(top).not.toBeNull(); // Linux: /proc/sys/net/ipv4/ip_local_port_range
  for (const p of ports) {
    expect(p).toBeGreaterThanOrEqual(10000);
    expect(p).toBeLessThan(top as number);
  }
  // released: each can be bound again
  for (const p of ports) {
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(p, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
});

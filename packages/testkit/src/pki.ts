/**
 * Throw-away certificates for TLS tests, made with the tools operators use: `openssl` for a
 * CA and the certificates it signs, `keytool` (the JDK's) for the Java trust store. Nothing
 * here is fit for production: keys without passphrases, one day of validity.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestPki {
  dir: string;
  /** PEM of the CA that signed the server and client certificates. */
  caFile: string;
  /** PEM of another CA that signed nothing here (a "wrong CA" for clients). */
  otherCaFile: string;
  /** Server certificate (SAN IP 127.0.0.1 and DNS localhost) and its key, PEM. */
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate (CN hopwatch-client) and key, PEM, for mutual TLS. */
  clientCertFile: string;
  clientKeyFile: string;
  /** The server certificate, key and CA chain as a PKCS12 key store (a Java broker's). */
  keystore: string;
  /** PKCS12 trust store holding the CA (made with keytool). */
  truststore: string;
  /** Password of both stores (one line). */
  storePasswordFile: string;
}

function run(cmd: string, args: string[], cwd: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr?.toString() || err.message}`);
  }
}

function makeCa(dir: string, name: string): void {
  run(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`]
      .concat(['-keyout', `${name}.key`, '-out', `${name}.pem`])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign']),
    dir,
  );
}

function signed(dir: string, name: string, cn: string, ext: string): void {
  run(
    'openssl',
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`].concat(
      ['-out', `${name}.csr`],
    ),
    dir,
  );
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
    ].concat(['-days', '1', '-out', `${name}.pem`, '-extfile', `${name}.ext`]),
    dir,
  );
}

/** Makes a CA, a server and a client certificate and the Java stores in `dir` (created). */
export function makeTestPki(dir: string): TestPki {
  fs.mkdirSync(dir, { recursive: true });
  const password = 'testkit-store-' + Math.random().toString(36).slice(2, 10);
  const storePasswordFile = path.join(dir, 'store.pass');
  fs.writeFileSync(storePasswordFile, password + '\n', { mode: 0o600 });
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  signed(
    dir,
    'server',
    '127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  signed(dir, 'client', 'hopwatch-client', 'extendedKeyUsage=clientAuth\n');
  run(
    'openssl',
    [
      'pkcs12',
      '-export',
      '-in',
      'server.pem',
      '-inkey',
      'server.key',
      '-certfile',
      'ca.pem',
    ].concat(['-name', 'broker', '-out', 'server.p12', '-passout', `file:${storePasswordFile}`]),
    dir,
  );
  run(
    'keytool',
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.pem', '-storetype', 'PKCS12'].concat([
      '-keystore',
      'truststore.p12',
      '-storepass',
      password,
    ]),
    dir,
  );
  const f = (n: string): string => path.join(dir, n);
  return {
    dir,
    caFile: f('ca.pem'),
    otherCaFile: f('other-ca.pem'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    keystore: f('server.p12'),
    truststore: f('truststore.p12'),
    storePasswordFile,
  };
}

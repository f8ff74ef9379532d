import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway certificate authority: its certificate is what clients are told to trust. */
export interface CertificateAuthority {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A server certificate signed by a test CA, with its unencrypted private key. */
export interface ServerCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

// P-256 keys are made in milliseconds, where RSA would slow every test run down.
const KEY_OPTIONS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', [...args]);
  } catch (error) {
    const stderr = typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr || String(error)}`, { cause: error });
  }
}

/** Makes a self-signed CA valid for two days, named `name`, in `dir` (`<name>.crt`, `<name>.key`). */
export async function createCertificateAuthority(dir: string, name: string): Promise<CertificateAuthority> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl([
    'req', '-x509', '-new', '-nodes', ...KEY_OPTIONS, '-sha256', '-days', '2',
    '-keyout', keyFile, '-out', certFile,
    '-subj', `/CN=Engram test CA ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certFile, keyFile };
}

/**
 * Issues a certificate for the loopback server, signed by `ca`: CN `localhost`, and subject
 * alternative names `localhost` and `127.0.0.1`, so both host forms pass a full verification.
 */
export async function issueServerCertificate(ca: CertificateAuthority, dir: string, name: string): Promise<ServerCertificate> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const requestFile = join(dir, `${name}.csr`);
  const extensionsFile = join(dir, `${name}.ext`);
  await openssl(['req', '-new', '-nodes', ...KEY_OPTIONS, '-keyout', keyFile, '-out', requestFile, '-subj', '/CN=localhost']);
  await writeFile(
    extensionsFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  await openssl([
    'x509', '-req', '-sha256', '-days', '2',
    '-in', requestFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-extfile', extensionsFile, '-out', certFile,
  ]);
  return { certFile, keyFile };
}

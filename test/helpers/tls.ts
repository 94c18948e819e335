// openssl helpers for checking what cert-manager issued.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from './exec.ts';

const made: string[] = [];

/**
 * A fresh directory under the system's temp dir, removed when the test process
 * exits (PGTLS_KEEP_TMP=1 keeps them, for debugging): a test run leaves /tmp as it found it.
 */
export function tmpDir(prefix = 'pgtls-tls-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (made.length === 0 && !process.env.PGTLS_KEEP_TMP) {
    process.on('exit', () => {
      for (const d of made) {
        try {
          rmSync(d, { recursive: true, force: true, maxRetries: 2 });
        } catch {
          // A mount or a busy file: leave that one.
        }
      }
    });
  }
  made.push(dir);
  return dir;
}

/** Writes the keys of a TLS Secret's data (base64) to files in dir. */
export function writeSecretFiles(dir: string, data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    const file = join(dir, k);
    writeFileSync(file, Buffer.from(v, 'base64'), { mode: 0o600 });
    out[k] = file;
  }
  return out;
}

export async function x509Field(certFile: string, field: '-serial' | '-subject' | '-issuer' | '-dates' | '-ext'): Promise<string> {
  const args = ['x509', '-in', certFile, '-noout', '-nameopt', 'RFC2253', field];
  if (field === '-ext') args.splice(args.length - 1, 1, '-ext', 'subjectAltName');
  return (await runOk('openssl', args)).trim();
}

export async function makeCa(dir: string, subj: string): Promise<{ crt: string; key: string }> {
  const crt = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  // The guides' recipe, verbatim.
  await runOk('openssl', ['req', '-x509', '-nodes', '-days', '365', '-newkey', 'rsa:2048', '-keyout', key, '-out', crt, '-subj', subj]);
  return { crt, key };
}

// CA bundles for a CA switch without failed connections:
// 1. every trust store gets old+new, 2. servers switch leaf certs, 3. the old CA is dropped.
import { parseCertificates, pemBlocks } from './pem.ts';

/** Concatenates bundles, keeping the first occurrence of each CA (by SHA-256), in order. */
export function mergeCaBundles(...bundles: string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const bundle of bundles) {
    for (const block of pemBlocks(bundle)) {
      if (block.label !== 'CERTIFICATE') continue;
      const fp = parseCertificates(block.text)[0]!.fingerprint256;
      if (seen.has(fp)) continue;
      seen.add(fp);
      out.push(block.text);
    }
  }
  return out.join('');
}

/** The bundle to trust during a switch: the old CA(s) first, then the new one(s). */
export function transitionBundle(oldCa: string, newCa: string): string {
  return mergeCaBundles(oldCa, newCa);
}

/** The bundle without any CA that appears in `drop` (by SHA-256). */
export function removeFromBundle(bundle: string, drop: string): string {
  const gone = new Set(parseCertificates(drop).map((c) => c.fingerprint256));
  return pemBlocks(bundle)
    .filter((b) => b.label === 'CERTIFICATE' && !gone.has(parseCertificates(b.text)[0]!.fingerprint256))
    .map((b) => b.text)
    .join('');
}

export function bundleFingerprints(bundle: string): string[] {
  return parseCertificates(bundle).map((c) => c.fingerprint256);
}

/** Same set of CAs, order ignored. */
export function sameBundle(a: string, b: string): boolean {
  const fa = new Set(bundleFingerprints(a));
  const fb = bundleFingerprints(b);
  return fa.size === new Set(fb).size && fb.every((f) => fa.has(f));
}

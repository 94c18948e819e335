// The TLS every pgtls server offers by default: TLS 1.2 or newer, and for
// TLS 1.2 only forward-secret AEAD suites (Mozilla's "intermediate" list).
// TLS 1.3 suites are all modern and are not restricted here. Pgpool-II has no
// minimum-version setting (4.3 and 4.6 alike): with only TLS 1.2 AEAD suites
// in its cipher list, a TLS 1.0/1.1 client shares no cipher with it and the
// handshake fails, which the wire tests check.
export const TLS_MIN_VERSION = 'TLSv1.2';

export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
].join(':');

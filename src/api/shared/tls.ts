// TLSConfig (kmodules api/v1/certificates.go): `spec.tls` of every database kind,
// and the inline part of every ops request's `spec.tls`.
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Strings } from './schema.ts';
import { TypedLocalObjectReference } from './refs.ts';
import { PRIVATE_KEY_ENCODINGS } from './enums.ts';

export const X509Subject = Type.Object({
  organizations: Type.Optional(Strings()),
  countries: Type.Optional(Strings()),
  organizationalUnits: Type.Optional(Strings()),
  localities: Type.Optional(Strings()),
  provinces: Type.Optional(Strings()),
  streetAddresses: Type.Optional(Strings()),
  postalCodes: Type.Optional(Strings()),
  serialNumber: Type.Optional(Type.String()),
});

export const CertificatePrivateKey = Type.Object({
  encoding: Type.Optional(StringEnum(PRIVATE_KEY_ENCODINGS)),
});

export const CertificateSpec = Type.Object({
  alias: Type.String(),
  issuerRef: Type.Optional(TypedLocalObjectReference),
  secretName: Type.Optional(Type.String()),
  subject: Type.Optional(X509Subject),
  duration: Type.Optional(Type.String()),
  renewBefore: Type.Optional(Type.String()),
  dnsNames: Type.Optional(Strings()),
  ipAddresses: Type.Optional(Strings()),
  uris: Type.Optional(Strings()),
  emailAddresses: Type.Optional(Strings()),
  privateKey: Type.Optional(CertificatePrivateKey),
});
export type CertificateSpec = Static<typeof CertificateSpec>;

export const tlsConfigProperties = {
  issuerRef: Type.Optional(TypedLocalObjectReference),
  certificates: Type.Optional(Type.Array(CertificateSpec)),
};

export const TLSConfig = Type.Object(tlsConfigProperties);
export type TLSConfig = Static<typeof TLSConfig>;

/**
 * THE table of certificate store types (IP*Works SSLCertStoreType and
 * CertStoreType share the numbers): which exist on Node and what the store
 * then holds. The schema (enum names, docs), the client certificate and
 * S/MIME signer loaders and docs/tls-and-auth.md read it.
 */

export interface CertStoreTypeRow {
  readonly value: number;
  /** IP*Works constant name. */
  readonly constant: string;
  /** Name in code: CertStoreType.PfxFile. */
  readonly key: string;
  /** Loadable on Node; the others (Windows and Java stores, key-only and certificate-only formats, hardware keys) are accepted as values and fail when the certificate is loaded. */
  readonly supported: boolean;
  /** What the property docs call it ("PKCS#12 file"), and what SSLCertStoreType's doc adds. */
  readonly summary: string;
  readonly detail?: string;
  /** The kind of store an unsupported type is, as the docs group them. */
  readonly family?: string;
  /** docs/tls-and-auth.md: what the store then holds. */
  readonly docHolds?: string;
}

export const CERT_STORE_TYPES = [
  { value: 0, constant: "cstUser", key: "User", supported: false, summary: "Windows user store", family: "Windows stores" },
  { value: 1, constant: "cstMachine", key: "Machine", supported: false, summary: "Windows machine store", family: "Windows stores" },
  { value: 2, constant: "cstPFXFile", key: "PfxFile", supported: true, summary: "PKCS#12 file", docHolds: "the path of a PKCS#12 (.pfx / .p12) file" },
  { value: 3, constant: "cstPFXBlob", key: "PfxBlob", supported: true, summary: "PKCS#12 blob (base64)", docHolds: "PKCS#12 bytes, base64" },
  { value: 4, constant: "cstJKSFile", key: "JksFile", supported: false, summary: "Java key store file", family: "Java key stores" },
  { value: 5, constant: "cstJKSBlob", key: "JksBlob", supported: false, summary: "Java key store blob", family: "Java key stores" },
  {
    value: 6, constant: "cstPEMKeyFile", key: "PemKeyFile", supported: true, summary: "PEM file", detail: "certificate and key",
    docHolds: "the path of a PEM file with the certificate and its private key",
  },
  { value: 7, constant: "cstPEMKeyBlob", key: "PemKeyBlob", supported: true, summary: "PEM text", docHolds: "PEM text with the certificate and its private key" },
  { value: 8, constant: "cstPublicKeyFile", key: "PublicKeyFile", supported: false, summary: "public key file", family: "Public key files and blobs" },
  { value: 9, constant: "cstPublicKeyBlob", key: "PublicKeyBlob", supported: false, summary: "public key blob", family: "Public key files and blobs" },
  { value: 10, constant: "cstSSHPublicKeyBlob", key: "SshPublicKeyBlob", supported: false, summary: "SSH public key blob", family: "Public key files and blobs" },
  { value: 11, constant: "cstP7BFile", key: "P7bFile", supported: false, summary: "PKCS#7 certificate file", family: "PKCS#7 certificate bundles (no private key)" },
  { value: 12, constant: "cstP7BBlob", key: "P7bBlob", supported: false, summary: "PKCS#7 certificate blob", family: "PKCS#7 certificate bundles (no private key)" },
  { value: 13, constant: "cstSSHPublicKeyFile", key: "SshPublicKeyFile", supported: false, summary: "SSH public key file", family: "Public key files and blobs" },
  { value: 14, constant: "cstPPKFile", key: "PpkFile", supported: false, summary: "PuTTY key file", family: "Key-only formats (PuTTY, XML, JWK)" },
  { value: 15, constant: "cstPPKBlob", key: "PpkBlob", supported: false, summary: "PuTTY key blob", family: "Key-only formats (PuTTY, XML, JWK)" },
  { value: 16, constant: "cstXMLFile", key: "XmlFile", supported: false, summary: "XML key file", family: "Key-only formats (PuTTY, XML, JWK)" },
  { value: 17, constant: "cstXMLBlob", key: "XmlBlob", supported: false, summary: "XML key blob", family: "Key-only formats (PuTTY, XML, JWK)" },
  { value: 18, constant: "cstJWKFile", key: "JwkFile", supported: false, summary: "JSON Web Key file", family: "Key-only formats (PuTTY, XML, JWK)" },
  { value: 19, constant: "cstJWKBlob", key: "JwkBlob", supported: false, summary: "JSON Web Key blob", family: "Key-only formats (PuTTY, XML, JWK)" },
  { value: 20, constant: "cstSecurityKey", key: "SecurityKey", supported: false, summary: "hardware security key (PKCS#11)", family: "Hardware security keys" },
  {
    value: 99, constant: "cstAuto", key: "Auto", supported: true, summary: "detect", detail: "a path or content; PEM or PKCS#12",
    docHolds: "any of the above: a path or content, PEM or PKCS#12",
  },
] as const satisfies readonly CertStoreTypeRow[];

type Row = (typeof CERT_STORE_TYPES)[number];

/** Store type values by name in code: CertStoreType.PemKeyBlob is 7. */
export const CertStoreType = Object.fromEntries(CERT_STORE_TYPES.map((r) => [r.key, r.value])) as { readonly [R in Row as R["key"]]: R["value"] };

/** How to turn a store of each unsupported family into one Node can load, for the error a port meets at connect. */
const EXPORT_HINTS: Readonly<Record<string, (property: string) => string>> = {
  "Windows stores": (p) => `export the certificate with its private key from the Windows store (certmgr or PowerShell Export-PfxCertificate) to a .pfx file and use ${p} 2 (PfxFile)`,
  "Java key stores": (p) => `convert the key store with \`keytool -importkeystore -srcstoretype JKS -deststoretype PKCS12\` and use ${p} 2 (PfxFile)`,
  "Hardware security keys": (p) => `export the certificate and its private key as PKCS#12 (${p} 2 or 3) or PEM (6 or 7), if the key may leave the device`,
};

/**
 * What to do about an unsupported store type: the export to make and the type to use then, named
 * by the property that chose it (SSLCertStoreType for TLS, CertStoreType for S/MIME).
 */
export function unsupportedStoreHint(value: number, property = "SSLCertStoreType"): string {
  const family = rowOf(value)?.family;
  const hint = family ? EXPORT_HINTS[family] : undefined;
  return hint ? hint(property) : `export the certificate and its private key together as PKCS#12 (${property} 2 or 3) or PEM (6 or 7)`;
}

/** The IP*Works name of a store type value ("cstJKSFile"), or the number. */
export function storeTypeName(value: number): string {
  const row = rowOf(value);
  return row ? `${value} (${row.constant}, ${row.summary})` : String(value);
}

function rowOf(value: number): CertStoreTypeRow | undefined {
  return (CERT_STORE_TYPES as readonly CertStoreTypeRow[]).find((r) => r.value === value);
}

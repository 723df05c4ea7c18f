import { constants, generateKeyPairSync, privateEncrypt, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/**
 * A throwaway certificate authority made when a simulator starts, so no key file is ever
 * committed. node:crypto cannot build X.509 on Node 20, so node-forge lays out the certificates,
 * while node:crypto makes the keys and the signatures (forge's pure-JS RSA takes ~0.5 s a
 * signature). RSA key generation is slow too, so one CA key and one leaf key are made per
 * process and shared by every certificate; each CA certificate is still new.
 */
export interface CertificateAuthority {
  /** PEM of the CA certificate: what a client passes as `ca`. */
  readonly cert: string;
  /**
   * PEM (PKCS#8) of the CA's private key, for `certificateAuthorityFrom`: a simulator started
   * again in another process keeps the CA its clients already trust.
   */
  readonly key: string;
  /** Issues a server certificate for the given DNS names and IP addresses. */
  issueServerCertificate(hosts?: readonly string[]): IssuedCertificate;
  /** Issues a TLS client certificate with the given subject common name. */
  issueClientCertificate(
    commonName: string,
    options?: { organizationalUnit?: string; uid?: string; markerExtensions?: readonly string[] },
  ): IssuedCertificate;
}

export interface IssuedCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#8). */
  key: string;
  /** Lower-case hex serial number, as the peer certificate reports it (upper-cased there). */
  serialNumber: string;
}

const DAY_MS = 24 * 3600 * 1000;

interface KeyPair {
  publicKey: string;
  privateKey: string;
}

const keyCache: KeyPair[] = [];

function rsaKeyPair(slot: 0 | 1): KeyPair {
  keyCache[slot] ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return keyCache[slot];
}

// DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256.
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** A forge-compatible signer backed by node:crypto. */
function nodeSigner(privateKeyPem: string): forge.pki.rsa.PrivateKey {
  return {
    sign(md: forge.md.MessageDigest) {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const signature = privateEncrypt(
        { key: privateKeyPem, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, digest]),
      );
      return signature.toString('binary');
    },
  } as unknown as forge.pki.rsa.PrivateKey;
}

function serial(): string {
  // A leading 0x01..0x7f byte keeps the DER integer positive and its hex form stable.
  return `${(1 + (randomBytes(1)[0]! % 127)).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}`;
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

export function createCertificateAuthority(name = 'pushrelay simulator CA'): CertificateAuthority {
  const caKeys = rsaKeyPair(0);
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = forge.pki.publicKeyFromPem(caKeys.publicKey);
  caCert.serialNumber = serial();
  caCert.validity.notBefore = new Date(Date.now() - DAY_MS);
  caCert.validity.notAfter = new Date(Date.now() + 365 * DAY_MS);
  const caSubject = [{ name: 'commonName', value: name }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(nodeSigner(caKeys.privateKey), forge.md.sha256.create());
  return authorityOf(caCert, caKeys.privateKey);
}

/** The CA `cert` and `key` of an earlier `createCertificateAuthority` (possibly another process's). */
export function certificateAuthorityFrom(exported: { cert: string; key: string }): CertificateAuthority {
  return authorityOf(forge.pki.certificateFromPem(exported.cert), exported.key);
}

function authorityOf(caCert: forge.pki.Certificate, caPrivateKey: string): CertificateAuthority {
  const caKey = nodeSigner(caPrivateKey);
  const issue = (subject: forge.pki.CertificateField[], extensions: object[]): IssuedCertificate => {
    const keys = rsaKeyPair(1);
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKey);
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - DAY_MS);
    cert.validity.notAfter = new Date(Date.now() + 90 * DAY_MS);
    cert.setSubject(subject);
    cert.setIssuer(caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
      ...extensions,
    ]);
    cert.sign(caKey, forge.md.sha256.create());
    return { cert: forge.pki.certificateToPem(cert), key: keys.privateKey, serialNumber: cert.serialNumber };
  };

  return {
    cert: forge.pki.certificateToPem(caCert),
    key: caPrivateKey,
    issueServerCertificate(hosts = ['localhost', '127.0.0.1', '::1']) {
      return issue(
        [{ name: 'commonName', value: hosts[0] ?? 'localhost' }],
        [
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: hosts.map((h) => (isIp(h) ? { type: 7, ip: h } : { type: 2, value: h })),
          },
        ],
      );
    },
    issueClientCertificate(commonName, options = {}) {
      const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: commonName }];
      if (options.organizationalUnit)
        subject.push({ name: 'organizationalUnitName', value: options.organizationalUnit });
      // Apple's push certificates carry the bundle id as the subject UID.
      if (options.uid) subject.push({ type: '0.9.2342.19200300.100.1.1', value: options.uid });
      return issue(subject, [
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', clientAuth: true },
        // Extensions whose presence is the information (APNs marks a certificate's environments so).
        ...(options.markerExtensions ?? []).map((id) => ({
          id,
          critical: false,
          value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, ''),
        })),
      ]);
    },
  };
}

/**
 * A certificate and its key as one PKCS#12 (.p12) file, the form Keychain Access exports a push
 * certificate in. The key is encrypted with AES-128 under `passphrase`.
 */
export function toPkcs12(issued: Pick<IssuedCertificate, 'cert' | 'key'>, passphrase: string): Buffer {
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(issued.key),
    [forge.pki.certificateFromPem(issued.cert)],
    passphrase,
    { algorithm: 'aes128' },
  );
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

// A self-signed X.509 v3 certificate, DER-encoded by hand on node:crypto (RFC 5280, X.690 DER),
// for AutoMTLS. It replaces @peculiar/x509, whose ~700 KB of code (asn1js, tsyringe and a Reflect
// polyfill) cost about 50 ms on every AutoMTLS start. Only what one certificate shape needs is
// here: an ECDSA P-256 key signed with SHA-256, a fixed subject, four extensions.
import { generateKeyPair, randomBytes, sign } from "node:crypto";
import { promisify } from "node:util";

const generateKeyPairAsync = promisify(generateKeyPair);

/** Universal and context tags used below (X.690 8.1.2). */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  explicit0: 0xa0,
  explicit3: 0xa3,
  dnsName: 0x82,
} as const;

/** DER length octets: short form below 128, else 0x80 | count followed by big-endian bytes. */
export function derLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad DER length ${length}`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV. */
export function der(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/**
 * A non-negative INTEGER from big-endian magnitude bytes, in DER's minimal form: leading zero bytes
 * dropped, one 0x00 added when the top bit is set (DER integers are two's complement).
 */
export function derUnsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const bytes = Buffer.from(magnitude.subarray(start));
  if (bytes.length === 0) return der(TAG.integer, Buffer.from([0]));
  return (bytes[0] ?? 0) & 0x80
    ? der(TAG.integer, Buffer.from([0]), bytes)
    : der(TAG.integer, bytes);
}

/** An OBJECT IDENTIFIER from its dotted form (X.690 8.19). */
export function derOid(dotted: string): Buffer {
  const arcs = dotted.split(".").map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`bad OID ${dotted}`);
    return Number(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2 || (first < 2 && second > 39)) {
    throw new RangeError(`bad OID ${dotted}`);
  }
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      groups.unshift(0x80 | (value & 0x7f));
    }
    out.push(...groups);
  }
  return der(TAG.oid, Buffer.from(out));
}

/**
 * RFC 5280 4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for 1950–2049, GeneralizedTime (YYYYMMDDHHMMSSZ) from
 * 2050 on; whole seconds, UTC.
 */
export function derTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-22T01:31:52.123Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`certificate date out of range: ${iso}`);
  return year < 2050
    ? der(TAG.utcTime, Buffer.from(digits.slice(2), "ascii"))
    : der(TAG.generalizedTime, Buffer.from(digits, "ascii"));
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

function printable(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) {
    throw new RangeError(`not a PrintableString: ${JSON.stringify(text)}`);
  }
  return der(TAG.printableString, Buffer.from(text, "ascii"));
}

/** A Name of single-valued RDNs, in the given order. */
function name(attributes: readonly (readonly [oid: string, value: string])[]): Buffer {
  return der(
    TAG.sequence,
    ...attributes.map(([oid, value]) =>
      der(TAG.set, der(TAG.sequence, derOid(oid), printable(value))),
    ),
  );
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return der(
    TAG.sequence,
    derOid(oid),
    ...(critical ? [der(TAG.boolean, Buffer.from([0xff]))] : []),
    der(TAG.octetString, value),
  );
}

/** What {@link createSelfSignedCertificate} makes the certificate say. */
export interface SelfSignedCertificateOptions {
  /** The subject's (and issuer's) common name, also its only DNS subject alternative name. */
  commonName: string;
  /** The subject's organization. */
  organization: string;
  notBefore: Date;
  notAfter: Date;
}

/** The certificate and its key. */
export interface SelfSignedCertificate {
  /** DER of the certificate. */
  certDer: Buffer;
  /** DER (PKCS#8) of the private key. */
  keyDer: Buffer;
}

/**
 * Makes a fresh ECDSA P-256 key and a self-signed certificate for it: CA:TRUE (critical), key usage
 * digitalSignature + keyEncipherment + keyCertSign (critical), extended key usage serverAuth +
 * clientAuth, and a DNS subject alternative name equal to the common name. The serial number is 16
 * random bytes (positive, never zero).
 */
export async function createSelfSignedCertificate(
  options: SelfSignedCertificateOptions,
): Promise<SelfSignedCertificate> {
  const { publicKey, privateKey } = await generateKeyPairAsync("ec", { namedCurve: "P-256" });
  const serial = randomBytes(16);
  // Positive (top bit clear) and at least 2^120, so the minimal encoding is always 16 bytes.
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  const subject = name([
    [OID.commonName, options.commonName],
    [OID.organization, options.organization],
  ]);
  const algorithm = der(TAG.sequence, derOid(OID.ecdsaWithSha256));
  // KeyUsage BIT STRING: bits 0 (digitalSignature), 2 (keyEncipherment), 5 (keyCertSign), so
  // 0b10100100 with its 2 unused trailing bits declared.
  const keyUsageBits = Buffer.from([0x02, 0xa4]);
  const tbs = der(
    TAG.sequence,
    der(TAG.explicit0, derUnsignedInteger(Buffer.from([2]))),
    derUnsignedInteger(serial),
    algorithm,
    subject,
    der(TAG.sequence, derTime(options.notBefore), derTime(options.notAfter)),
    subject,
    publicKey.export({ type: "spki", format: "der" }),
    der(
      TAG.explicit3,
      der(
        TAG.sequence,
        extension(
          OID.basicConstraints,
          true,
          der(TAG.sequence, der(TAG.boolean, Buffer.from([0xff]))),
        ),
        extension(OID.keyUsage, true, der(TAG.bitString, keyUsageBits)),
        extension(
          OID.extKeyUsage,
          false,
          der(TAG.sequence, derOid(OID.serverAuth), derOid(OID.clientAuth)),
        ),
        extension(
          OID.subjectAltName,
          false,
          der(TAG.sequence, der(TAG.dnsName, Buffer.from(options.commonName, "ascii"))),
        ),
      ),
    ),
  );
  // ECDSA signatures come out as the DER SEQUENCE { r, s } that X.509 wants.
  const signature = sign("sha256", tbs, privateKey);
  const certDer = der(
    TAG.sequence,
    tbs,
    algorithm,
    der(TAG.bitString, Buffer.from([0]), signature),
  );
  return { certDer, keyDer: privateKey.export({ type: "pkcs8", format: "der" }) };
}

import { createPrivateKey, X509Certificate } from "node:crypto";

import { describe, expect, it } from "vitest";

import {
  createSelfSignedCertificate,
  der,
  derLength,
  derOid,
  derTime,
  derUnsignedInteger,
} from "../../../../src/plugin/self-signed-certificate.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("DER primitives", () => {
  it("encodes lengths in short form below 128 and minimal long form above", () => {
    expect(hex(derLength(0))).toBe("00");
    expect(hex(derLength(127))).toBe("7f");
    expect(hex(derLength(128))).toBe("8180");
    expect(hex(derLength(255))).toBe("81ff");
    expect(hex(derLength(256))).toBe("820100");
    expect(hex(derLength(65_535))).toBe("82ffff");
    expect(hex(derLength(65_536))).toBe("83010000");
    expect(() => derLength(-1)).toThrow(RangeError);
  });

  it("wraps contents of any size in one TLV", () => {
    expect(hex(der(0x04, Buffer.alloc(0)))).toBe("0400");
    const big = der(0x04, Buffer.alloc(300, 0xab));
    expect(hex(big.subarray(0, 4))).toBe("0482012c");
    expect(big.length).toBe(304);
  });

  it("writes non-negative integers minimally, with a 0x00 before a set top bit", () => {
    expect(hex(derUnsignedInteger(Buffer.from([0])))).toBe("020100");
    expect(hex(derUnsignedInteger(Buffer.from([0, 0, 0])))).toBe("020100");
    expect(hex(derUnsignedInteger(Buffer.from([2])))).toBe("020102");
    expect(hex(derUnsignedInteger(Buffer.from([0x7f])))).toBe("02017f");
    expect(hex(derUnsignedInteger(Buffer.from([0x80])))).toBe("02020080");
    expect(hex(derUnsignedInteger(Buffer.from([0, 0x80, 1])))).toBe("0203008001");
    expect(hex(derUnsignedInteger(Buffer.from([0, 0, 0x12, 0x34])))).toBe("02021234");
  });

  it("encodes object identifiers, including multi-byte arcs", () => {
    expect(hex(derOid("2.5.29.15"))).toBe("0603551d0f");
    expect(hex(derOid("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(hex(derOid("1.3.6.1.5.5.7.3.1"))).toBe("06082b06010505070301");
    expect(hex(derOid("1.2.840.10045.3.1.7"))).toBe("06082a8648ce3d030107");
    expect(hex(derOid("2.999.3"))).toBe("0603883703");
    expect(() => derOid("1.40")).toThrow(RangeError);
    expect(() => derOid("3.1")).toThrow(RangeError);
    expect(() => derOid("1.2.x")).toThrow(RangeError);
  });

  it("uses UTCTime up to 2049 and GeneralizedTime from 2050 (RFC 5280 4.1.2.5)", () => {
    const utc = derTime(new Date("2049-12-31T23:59:59.999Z"));
    expect(utc[0]).toBe(0x17);
    expect(utc.subarray(2).toString("ascii")).toBe("491231235959Z");
    const generalized = derTime(new Date("2050-01-01T00:00:00Z"));
    expect(generalized[0]).toBe(0x18);
    expect(generalized.subarray(2).toString("ascii")).toBe("20500101000000Z");
    expect(derTime(new Date("1950-01-01T00:00:00Z")).subarray(2).toString("ascii")).toBe(
      "500101000000Z",
    );
    expect(() => derTime(new Date("1949-12-31T23:59:59Z"))).toThrow(RangeError);
  });
});

describe("createSelfSignedCertificate", () => {
  const notBefore = new Date("2026-01-02T03:04:05Z");
  const notAfter = new Date("2056-01-02T03:04:05Z");

  it("makes a certificate OpenSSL parses and verifies, with the requested fields", async () => {
    const { certDer, keyDer } = await createSelfSignedCertificate({
      commonName: "localhost",
      organization: "plexum",
      notBefore,
      notAfter,
    });
    const cert = new X509Certificate(certDer);
    expect(cert.subject.split("\n")).toEqual(["CN=localhost", "O=plexum"]);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.subjectAltName).toBe("DNS:localhost");
    expect(cert.ca).toBe(true);
    expect(cert.keyUsage?.sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(Date.parse(cert.validFrom)).toBe(notBefore.getTime());
    expect(Date.parse(cert.validTo)).toBe(notAfter.getTime());
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(
      cert.checkPrivateKey(createPrivateKey({ key: keyDer, format: "der", type: "pkcs8" })),
    ).toBe(true);
    // The whole certificate is one DER SEQUENCE whose length covers exactly the rest.
    expect(certDer[0]).toBe(0x30);
    expect(cert.raw.equals(certDer)).toBe(true);
  });

  it("draws a positive 16-byte serial number each time", async () => {
    const options = { commonName: "localhost", organization: "plexum", notBefore, notAfter };
    const serials = new Set<string>();
    for (let i = 0; i < 20; i += 1) {
      const cert = new X509Certificate((await createSelfSignedCertificate(options)).certDer);
      expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
      serials.add(cert.serialNumber);
    }
    expect(serials.size).toBe(20);
  });

  it("handles names long enough to need long-form lengths everywhere", async () => {
    const commonName = `${"a".repeat(60)}.${"b".repeat(60)}.example`;
    const { certDer } = await createSelfSignedCertificate({
      commonName,
      organization: "o".repeat(200),
      notBefore,
      notAfter,
    });
    const cert = new X509Certificate(certDer);
    expect(cert.subjectAltName).toBe(`DNS:${commonName}`);
    expect(cert.subject).toContain(`O=${"o".repeat(200)}`);
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it("refuses names that are not PrintableString", async () => {
    await expect(
      createSelfSignedCertificate({
        commonName: "héllo",
        organization: "plexum",
        notBefore,
        notAfter,
      }),
    ).rejects.toThrow(RangeError);
  });
});

import { createPrivateKey, X509Certificate } from "node:crypto";

import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { isPluginError } from "../../../../src/errors.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../../src/gen/grpc/health/v1/health_pb.js";
import { createHclogLogger } from "../../../../src/log/hclog-logger.js";
import {
  type AutoMtlsCertificate,
  createAutoMtlsClient,
  decodeCertificateField,
  encodeCertificateField,
  generateAutoMtlsCertificate,
} from "../../../../src/plugin/auto-mtls.js";
import { createServiceClient } from "../../../../src/plugin/grpc-client.js";
import { servePlugin, type ServePluginResult } from "../../../../src/plugin/serve.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const dirs = createTempDirs();
const clients: { close(): void }[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(() => dirs.removeAll());

describe("generateAutoMtlsCertificate", () => {
  let cert: AutoMtlsCertificate;
  let parsed: X509Certificate;
  beforeAll(async () => {
    cert = await generateAutoMtlsCertificate();
    parsed = new X509Certificate(cert.certPem);
  });

  it("makes a self-signed CA certificate for localhost", () => {
    expect(parsed.subject).toContain("CN=localhost");
    expect(parsed.issuer).toBe(parsed.subject);
    expect(parsed.subjectAltName).toBe("DNS:localhost");
    expect(parsed.ca).toBe(true);
    expect(parsed.checkHost("localhost")).toBe("localhost");
    expect(parsed.verify(parsed.publicKey)).toBe(true);
  });

  it("uses an ECDSA P-256 key that matches the private key", () => {
    expect(parsed.publicKey.asymmetricKeyType).toBe("ec");
    expect(parsed.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(parsed.checkPrivateKey(createPrivateKey(cert.keyPem))).toBe(true);
  });

  it("allows server and client authentication", () => {
    // Node reports the extended key usage OIDs: serverAuth, clientAuth.
    expect(parsed.keyUsage?.sort()).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  });

  it("carries critical key usage digitalSignature, keyEncipherment and keyCertSign", () => {
    // KeyUsage extension: OID 2.5.29.15, critical, BIT STRING 0xA4 (bits 0, 2 and 5).
    expect(
      Buffer.from(cert.certDer).includes(Buffer.from("0603551d0f0101ff0404030202a4", "hex")),
    ).toBe(true);
  });

  it("is valid from 30 s ago for about 30 years", () => {
    const now = Date.now();
    const from = Date.parse(parsed.validFrom);
    const to = Date.parse(parsed.validTo);
    expect(now - from).toBeGreaterThanOrEqual(29_000);
    expect(now - from).toBeLessThan(60_000);
    expect((to - now) / (365.25 * 24 * 3600 * 1000)).toBeCloseTo(30, 0);
  });

  it("is unique each time", async () => {
    const other = await generateAutoMtlsCertificate();
    expect(other.certPem).not.toBe(cert.certPem);
    expect(new X509Certificate(other.certPem).serialNumber).not.toBe(parsed.serialNumber);
  });

  it("encodes to handshake field 6 without padding and decodes back", () => {
    const field = encodeCertificateField(cert.certDer);
    expect(field).not.toContain("=");
    expect(field).toBe(Buffer.from(cert.certDer).toString("base64").replace(/=+$/, ""));
    expect(
      new X509Certificate(decodeCertificateField(field)).raw.equals(Buffer.from(cert.certDer)),
    ).toBe(true);
  });

  it("refuses a short or non-base64 field 6", () => {
    for (const field of ["", "short", `${"A".repeat(60)}!`]) {
      let thrown: unknown;
      try {
        decodeCertificateField(field);
      } catch (error) {
        thrown = error;
      }
      expect(isPluginError(thrown) && thrown.code).toBe("TLS_SETUP_FAILED");
    }
  });
});

describe("servePlugin under AutoMTLS (in process)", () => {
  let host: AutoMtlsCertificate;
  let server: ServePluginResult;
  beforeAll(async () => {
    host = await generateAutoMtlsCertificate();
    server = await servePlugin({
      handshake: { cookieKey: "K", cookieValue: "v", appProtocolVersions: [1] },
      logger: createHclogLogger({ level: "silent" }),
      env: { PLUGIN_UNIX_SOCKET_DIR: await dirs.make("mtls"), PLUGIN_CLIENT_CERT: host.certPem },
      test: true,
    });
  });
  afterAll(() => server.close());

  async function check(credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}) {
    const health = createServiceClient(Health, server.target, credentials, options);
    clients.push(health);
    return health.check({ service: "plugin" }, { deadline: Date.now() + 3000 });
  }

  it("returns its certificate for handshake field 6", () => {
    expect(server.serverCert?.length).toBeGreaterThan(50);
    expect(server.serverCert).not.toContain("=");
    const plugin = new X509Certificate(decodeCertificateField(server.serverCert ?? ""));
    expect(plugin.subjectAltName).toBe("DNS:localhost");
    expect(plugin.ca).toBe(true);
  });

  it("accepts a client presenting the host certificate", async () => {
    const { credentials, channelOptions } = createAutoMtlsClient(server.serverCert ?? "", host);
    expect((await check(credentials, channelOptions)).status).toBe(ServingStatus.SERVING);
  });

  it("refuses a client without a certificate", async () => {
    const root = Buffer.from(decodeCertificateField(server.serverCert ?? ""));
    await expect(
      check(grpc.credentials.createSsl(root), { "grpc.ssl_target_name_override": "localhost" }),
    ).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it("refuses a client whose certificate the host did not hand over", async () => {
    const stranger = await generateAutoMtlsCertificate();
    const { credentials, channelOptions } = createAutoMtlsClient(server.serverCert ?? "", stranger);
    await expect(check(credentials, channelOptions)).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });

  it("refuses a plaintext client", async () => {
    await expect(check(grpc.credentials.createInsecure())).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });

  it("is not trusted by a client that expects another server certificate", async () => {
    const other = await generateAutoMtlsCertificate();
    const { credentials, channelOptions } = createAutoMtlsClient(
      encodeCertificateField(other.certDer),
      host,
    );
    await expect(check(credentials, channelOptions)).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });
});

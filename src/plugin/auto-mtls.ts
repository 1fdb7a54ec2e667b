// based on hashicorp/go-plugin mtls.go (generateCert) and the AutoMTLS parts of client.go/server.go.
import { X509Certificate } from "node:crypto";

import * as grpc from "@grpc/grpc-js";

import { PluginError } from "../errors.js";
import { createSelfSignedCertificate } from "./self-signed-certificate.js";

/** A one-time certificate with its key, as produced by {@link generateAutoMtlsCertificate}. */
export interface AutoMtlsCertificate {
  /** PEM of the self-signed certificate. */
  certPem: string;
  /** PKCS#8 PEM of its private key. */
  keyPem: string;
  /** Raw DER of the certificate. */
  certDer: Uint8Array;
}

// go-plugin: NotBefore now-30s, NotAfter now+262980h (~30 years).
const NOT_BEFORE_SKEW_MS = 30_000;
const VALIDITY_MS = 262_980 * 3_600_000;

function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Generates a one-time, self-signed ECDSA P-256 certificate in process, shaped like go-plugin's:
 * CN and DNS SAN `localhost`, CA:TRUE (so the peer can use the certificate itself as its root),
 * key usage digitalSignature + keyEncipherment + keyCertSign, extended key usage serverAuth +
 * clientAuth, valid from 30 s ago for about 30 years.
 */
export async function generateAutoMtlsCertificate(): Promise<AutoMtlsCertificate> {
  try {
    const now = Date.now();
    const { certDer, keyDer } = await createSelfSignedCertificate({
      commonName: "localhost",
      organization: "plexum",
      notBefore: new Date(now - NOT_BEFORE_SKEW_MS),
      notAfter: new Date(now + VALIDITY_MS),
    });
    return {
      certPem: toPem("CERTIFICATE", certDer),
      keyPem: toPem("PRIVATE KEY", keyDer),
      certDer: new Uint8Array(certDer),
    };
  } catch (error) {
    throw new PluginError("TLS_SETUP_FAILED", "cannot generate the AutoMTLS certificate", {
      cause: error,
    });
  }
}

/**
 * Encodes a certificate for handshake field 6: standard base64 of the raw DER without `=` padding
 * (Go's `base64.RawStdEncoding`).
 */
export function encodeCertificateField(certDer: Uint8Array): string {
  return Buffer.from(certDer).toString("base64").replace(/=+$/, "");
}

/**
 * Decodes handshake field 6 back to a PEM certificate.
 *
 * @throws PluginError `TLS_SETUP_FAILED` when the field is not base64 DER. go-plugin ignores values
 *   of 50 characters or less, which never hold a certificate.
 */
export function decodeCertificateField(field: string): string {
  if (field.length <= 50 || !/^[A-Za-z0-9+/]+={0,2}$/.test(field)) {
    throw new PluginError("TLS_SETUP_FAILED", "handshake field 6 is not a base64 DER certificate");
  }
  return toPem("CERTIFICATE", Buffer.from(field, "base64"));
}

/** Server side of AutoMTLS: credentials to serve with, and the value for handshake field 6. */
export interface AutoMtlsServer {
  /** TLS credentials that require a client certificate signed by the host's certificate. */
  credentials: grpc.ServerCredentials;
  /** This plugin's certificate for handshake field 6. */
  serverCert: string;
  /** For brokered connections the plugin dials: present this certificate, trust the host's. */
  client: AutoMtlsClient;
}

/**
 * Sets up the plugin's side of AutoMTLS from the host's `PLUGIN_CLIENT_CERT` PEM: generates this
 * process's certificate and serves TLS that requires client certificates signed by the host's.
 */
export async function createAutoMtlsServer(clientCertPem: string): Promise<AutoMtlsServer> {
  try {
    // grpc-js would only notice a bad PEM when binding, as an error that looks like a listen failure.
    new X509Certificate(clientCertPem);
  } catch (error) {
    throw new PluginError("TLS_SETUP_FAILED", "PLUGIN_CLIENT_CERT is not a PEM certificate", {
      cause: error,
    });
  }
  const own = await generateAutoMtlsCertificate();
  try {
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(clientCertPem),
      [{ cert_chain: Buffer.from(own.certPem), private_key: Buffer.from(own.keyPem) }],
      true,
    );
    const client = grpc.credentials.createSsl(
      Buffer.from(clientCertPem),
      Buffer.from(own.keyPem),
      Buffer.from(own.certPem),
    );
    return {
      credentials,
      serverCert: encodeCertificateField(own.certDer),
      client: { credentials: client, channelOptions: localhostOptions },
    };
  } catch (error) {
    throw new PluginError("TLS_SETUP_FAILED", "cannot use PLUGIN_CLIENT_CERT", { cause: error });
  }
}

// Verify the peer as `localhost` whatever the address, like go-plugin's `ServerName`.
const localhostOptions: grpc.ChannelOptions = {
  "grpc.ssl_target_name_override": "localhost",
  "grpc.default_authority": "localhost",
};

/** Client side of AutoMTLS: credentials plus the channel options they need. */
export interface AutoMtlsClient {
  /** TLS credentials trusting only the plugin's certificate and presenting ours. */
  credentials: grpc.ChannelCredentials;
  /** Verifies the server as `localhost`, whatever the address, like go-plugin's `ServerName`. */
  channelOptions: grpc.ChannelOptions;
}

/**
 * Sets up the host's side of AutoMTLS: trust exactly the certificate from handshake field 6 and
 * present `clientCertificate` (the one passed to the plugin in `PLUGIN_CLIENT_CERT`).
 */
export function createAutoMtlsClient(
  serverCertField: string,
  clientCertificate: AutoMtlsCertificate,
): AutoMtlsClient {
  const rootPem = decodeCertificateField(serverCertField);
  try {
    const credentials = grpc.credentials.createSsl(
      Buffer.from(rootPem),
      Buffer.from(clientCertificate.keyPem),
      Buffer.from(clientCertificate.certPem),
    );
    return { credentials, channelOptions: localhostOptions };
  } catch (error) {
    throw new PluginError("TLS_SETUP_FAILED", "cannot build AutoMTLS client credentials", {
      cause: error,
    });
  }
}

import { describe, expect, it } from "vitest";

import { isPluginError, type PluginErrorCode } from "../../../../src/errors.js";
import {
  checkMagicCookie,
  formatHandshakeLine,
  negotiateProtocolVersion,
  NOT_A_PLUGIN_MESSAGE,
  parseHandshakeLine,
} from "../../../../src/plugin/handshake.js";

function codeOf(run: () => unknown): PluginErrorCode | undefined {
  try {
    run();
  } catch (error) {
    return isPluginError(error) ? error.code : undefined;
  }
  return undefined;
}

describe("NOT_A_PLUGIN_MESSAGE", () => {
  it("is go-plugin's text, byte for byte", () => {
    expect(NOT_A_PLUGIN_MESSAGE).toBe(
      "This binary is a plugin. These are not meant to be executed directly.\n" +
        "Please execute the program that consumes these plugins, which will\n" +
        "load any plugins automatically\n",
    );
  });
});

describe("checkMagicCookie", () => {
  it("accepts only the exact value", () => {
    expect(checkMagicCookie({ K: "v" }, "K", "v")).toBe(true);
    expect(checkMagicCookie({ K: "v2" }, "K", "v")).toBe(false);
    expect(checkMagicCookie({}, "K", "v")).toBe(false);
    expect(checkMagicCookie({ K: "" }, "K", "")).toBe(false);
  });
});

describe("negotiateProtocolVersion", () => {
  it("picks the highest version both sides support", () => {
    expect(negotiateProtocolVersion("1,2,5", [1, 2])).toBe(2);
    expect(negotiateProtocolVersion("5,2,1", [2, 1])).toBe(2);
    expect(negotiateProtocolVersion("1", [1, 2])).toBe(1);
  });

  it("reads entries as go-plugin's strconv.Atoi does and reports each one it skips", () => {
    const invalid: string[] = [];
    const onInvalid = (entry: string): void => void invalid.push(entry);
    expect(negotiateProtocolVersion("+1,02,x, 3,v3,,3.0", [1, 2, 3], onInvalid)).toBe(2);
    expect(invalid).toEqual(["x", " 3", "v3", "", "3.0"]);
  });

  it("reports nothing for an unset or empty list", () => {
    const invalid: string[] = [];
    const onInvalid = (entry: string): void => void invalid.push(entry);
    expect(negotiateProtocolVersion(undefined, [1], onInvalid)).toBe(1);
    expect(negotiateProtocolVersion("", [1], onInvalid)).toBe(1);
    expect(invalid).toEqual([]);
  });

  it("announces the lowest supported version when nothing matches or nothing is offered", () => {
    expect(negotiateProtocolVersion("3", [2, 1])).toBe(1);
    expect(negotiateProtocolVersion(undefined, [4, 5])).toBe(4);
    expect(negotiateProtocolVersion("", [1])).toBe(1);
  });

  it("rejects an empty supported set", () => {
    expect(codeOf(() => negotiateProtocolVersion("1", []))).toBe("PLUGIN_MISCONFIGURED");
  });
});

describe("formatHandshakeLine", () => {
  const base = {
    coreVersion: 1,
    appVersion: 1,
    network: "unix",
    address: "/tmp/plugin-1.sock",
    protocol: "grpc",
  } as const;

  it("always writes six fields, the last empty without a certificate", () => {
    expect(formatHandshakeLine(base)).toBe("1|1|unix|/tmp/plugin-1.sock|grpc|");
  });

  it("writes the certificate as field 6", () => {
    expect(
      formatHandshakeLine({
        ...base,
        network: "tcp",
        address: "127.0.0.1:10000",
        serverCert: "MIIB",
      }),
    ).toBe("1|1|tcp|127.0.0.1:10000|grpc|MIIB");
  });

  it("writes a 7th field only when multiplex is given", () => {
    expect(formatHandshakeLine({ ...base, multiplex: false })).toBe(
      "1|1|unix|/tmp/plugin-1.sock|grpc||false",
    );
    expect(formatHandshakeLine({ ...base, serverCert: "MIIB", multiplex: true })).toBe(
      "1|1|unix|/tmp/plugin-1.sock|grpc|MIIB|true",
    );
  });

  it("refuses an address that would break the line", () => {
    expect(codeOf(() => formatHandshakeLine({ ...base, address: "/tmp/a|b" }))).toBe(
      "HANDSHAKE_MALFORMED",
    );
    expect(codeOf(() => formatHandshakeLine({ ...base, address: "/tmp/a\nb" }))).toBe(
      "HANDSHAKE_MALFORMED",
    );
  });

  it("round-trips through parseHandshakeLine", () => {
    const info = { ...base, appVersion: 7, serverCert: "A".repeat(60), multiplex: false };
    expect(parseHandshakeLine(formatHandshakeLine(info))).toEqual(info);
  });
});

describe("parseHandshakeLine", () => {
  it("parses a Go plugin's six-field line, tolerating \\r\\n", () => {
    expect(parseHandshakeLine("1|5|unix|/tmp/plugin123456|grpc|\r\n")).toEqual({
      coreVersion: 1,
      appVersion: 5,
      network: "unix",
      address: "/tmp/plugin123456",
      protocol: "grpc",
    });
  });

  it("defaults the protocol to netrpc for four fields", () => {
    expect(parseHandshakeLine("1|1|tcp|127.0.0.1:1234")).toEqual({
      coreVersion: 1,
      appVersion: 1,
      network: "tcp",
      address: "127.0.0.1:1234",
      protocol: "netrpc",
    });
  });

  it("parses field 6 and Go-style booleans in field 7", () => {
    expect(parseHandshakeLine("1|1|unix|/s|grpc|CERT|true")).toMatchObject({
      serverCert: "CERT",
      multiplex: true,
    });
    expect(parseHandshakeLine("1|1|unix|/s|grpc||F")).toMatchObject({ multiplex: false });
    expect(parseHandshakeLine("1|1|unix|/s|grpc||F")).not.toHaveProperty("serverCert");
  });

  it.each([
    ["starting toy plugin...", "HANDSHAKE_MALFORMED"],
    ["", "HANDSHAKE_MALFORMED"],
    ["1|1|unix", "HANDSHAKE_MALFORMED"],
    ["1|1|unix|/s|grpc||true|extra", "HANDSHAKE_MALFORMED"],
    ["x|1|unix|/s|grpc|", "HANDSHAKE_MALFORMED"],
    ["1|one|unix|/s|grpc|", "HANDSHAKE_MALFORMED"],
    ["1|1|udp|/s|grpc|", "HANDSHAKE_MALFORMED"],
    ["1|1|unix||grpc|", "HANDSHAKE_MALFORMED"],
    ["1|1|unix|/s|http|", "HANDSHAKE_MALFORMED"],
    ["1|1|unix|/s|grpc||maybe", "HANDSHAKE_MALFORMED"],
    ["2|1|unix|/s|grpc|", "UNSUPPORTED_PROTOCOL_VERSION"],
  ])("rejects %j with %s", (line, code) => {
    expect(codeOf(() => parseHandshakeLine(line))).toBe(code);
  });

  it("quotes the offending line in the error", () => {
    expect(() => parseHandshakeLine("starting toy plugin...")).toThrow(/starting toy plugin\.\.\./);
  });
});

import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";

import { Health, HealthCheckRequestSchema } from "../../../../src/gen/grpc/health/v1/health_pb.js";
import { ProviderPlugin } from "../../../../src/gen/plexum/provider/v1/provider_pb.js";
import { GRPCBroker } from "../../../../src/gen/plugin/grpc_broker_pb.js";
import { GRPCStdio } from "../../../../src/gen/plugin/grpc_stdio_pb.js";
import { createServiceDefinition } from "../../../../src/plugin/grpc-service.js";

describe("createServiceDefinition", () => {
  it("uses wire paths and the streaming flags of each method kind", () => {
    const health = createServiceDefinition(Health);
    expect(Object.keys(health)).toEqual(["check", "watch"]);
    expect(health["check"]).toMatchObject({
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      originalName: "Check",
    });
    expect(health["watch"]).toMatchObject({
      path: "/grpc.health.v1.Health/Watch",
      requestStream: false,
      responseStream: true,
    });
    expect(createServiceDefinition(GRPCStdio)["streamStdio"]).toMatchObject({
      path: "/plugin.GRPCStdio/StreamStdio",
      requestStream: false,
      responseStream: true,
    });
    expect(createServiceDefinition(GRPCBroker)["startStream"]).toMatchObject({
      path: "/plugin.GRPCBroker/StartStream",
      requestStream: true,
      responseStream: true,
    });
    expect(createServiceDefinition(ProviderPlugin)["runTurn"]?.path).toBe(
      "/plexum.provider.v1.ProviderPlugin/RunTurn",
    );
  });

  it("serializes messages and init objects to the same protobuf bytes", () => {
    const check = createServiceDefinition(Health)["check"];
    const fromInit = check?.requestSerialize({ service: "plugin" });
    const fromMessage = check?.requestSerialize(
      create(HealthCheckRequestSchema, { service: "plugin" }),
    );
    // field 1, length-delimited, 6 bytes, "plugin"
    expect(fromInit?.toString("hex")).toBe("0a06706c7567696e");
    expect(fromMessage?.equals(fromInit ?? Buffer.alloc(0))).toBe(true);
    expect(check?.requestDeserialize(fromInit ?? Buffer.alloc(0))).toMatchObject({
      $typeName: "grpc.health.v1.HealthCheckRequest",
      service: "plugin",
    });
  });
});

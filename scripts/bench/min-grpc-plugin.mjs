#!/usr/bin/env node
// P1's reference point: the least a Node go-plugin can do with grpc-js. It loads @grpc/grpc-js from
// node_modules (not bundled), serves one hand-written service with pass-through serializers (no
// protobuf library), binds a unix socket and prints the handshake line. No cookie check, logging or
// controller: anything a real plugin does costs more than this.
import { tmpdir } from "node:os";
import { join } from "node:path";

import * as grpc from "@grpc/grpc-js";

const passThrough = { serialize: (value) => value, deserialize: (bytes) => bytes };
const service = {
  Check: {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough.serialize,
    requestDeserialize: passThrough.deserialize,
    responseSerialize: passThrough.serialize,
    responseDeserialize: passThrough.deserialize,
  },
};
const server = new grpc.Server();
// SERVING, as protobuf: field 1, varint 1.
server.addService(service, { Check: (_call, callback) => callback(null, Buffer.from([8, 1])) });
const dir = process.env.PLUGIN_UNIX_SOCKET_DIR || tmpdir();
const socket = join(dir, `min-plugin-${process.pid}.sock`);
server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`1|1|unix|${socket}|grpc|\n`);
});

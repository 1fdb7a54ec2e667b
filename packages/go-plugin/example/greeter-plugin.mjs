#!/usr/bin/env node
// A complete go-plugin plugin: a Go host built with go-plugin (AllowedProtocols: grpc, the cookie
// below) launches this file and calls example.greeter.v1.GreeterService/Greet.
import { createHclogLogger, implementService, servePlugin } from "plexum-go-plugin";

import { GreeterService } from "./gen/example/greeter/v1/greeter_pb.js";

const logger = createHclogLogger();

await servePlugin({
  handshake: {
    cookieKey: "GREETER_PLUGIN_COOKIE",
    cookieValue: "hello-from-node",
    appProtocolVersions: [1],
  },
  logger,
  services: [
    implementService(GreeterService, {
      greet(call, callback) {
        logger.info({ name: call.request.name }, "greeting");
        callback(null, { message: `hello, ${call.request.name}` });
      },
    }),
  ],
});

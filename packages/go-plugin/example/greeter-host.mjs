#!/usr/bin/env node
// The host side in Node: launch the example plugin, call it, stop it.
import { launchPlugin } from "plexum-go-plugin";

import { GreeterService } from "./gen/example/greeter/v1/greeter_pb.js";

const plugin = await launchPlugin({
  path: new URL("./greeter-plugin.mjs", import.meta.url).pathname,
  cookieKey: "GREETER_PLUGIN_COOKIE",
  cookieValue: "hello-from-node",
  protocolVersions: [1],
});
const greeter = plugin.createClient(GreeterService);
const { message } = await greeter.greet({ name: process.argv[2] ?? "world" });
console.log(message);
greeter.close();
await plugin.kill();

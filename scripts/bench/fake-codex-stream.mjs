#!/usr/bin/env node
// P3's fake codex: speaks just enough `codex exec --json` (0.169.0) to stream a large turn as fast
// as its stdout pipe accepts it. $CODEX_HOME/stream-control.json says how many item events to write
// and where to record progress ("<events written> <bytes written>", every 16 writes), so the
// benchmark can see the writer stall when the reader is slow. The mix, by index i:
//   i % 2000 == 1999   command_execution completed with 1 MiB of output
//   i % 4 == 0         agent_message (~100 B)
//   i % 4 == 1         reasoning (~300 B)
//   i % 4 == 2         command_execution started (~150 B)
//   i % 4 == 3         command_execution completed with 1-4 KiB of output
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

if (process.argv.includes("--version")) {
  process.stdout.write("codex-cli 0.169.0\n");
  process.exit(0);
}

const home = process.env.CODEX_HOME;
if (!home) throw new Error("fake codex needs CODEX_HOME");
const control = JSON.parse(readFileSync(join(home, "stream-control.json"), "utf8"));
const total = control.events;
const progressFile = control.progressFile;
const threadId = control.threadId;

for await (const _chunk of process.stdin) {
  // The prompt; unused.
}

const filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
const repeat = (length) => filler.repeat(Math.ceil(length / filler.length)).slice(0, length);
const oneMiB = repeat(1024 * 1024);
const outputs = [1024, 2048, 3072, 4096].map(repeat);
const thought = repeat(280);

function line(i) {
  const id = `item_${i}`;
  if (i % 2000 === 1999) {
    return `{"type":"item.completed","item":{"id":"${id}","type":"command_execution","command":"cat big-${i}.log","aggregated_output":"${i} ${oneMiB}","exit_code":0,"status":"completed"}}\n`;
  }
  switch (i % 4) {
    case 0:
      return `{"type":"item.completed","item":{"id":"${id}","type":"agent_message","text":"message ${i}: the build is green and the tests pass"}}\n`;
    case 1:
      return `{"type":"item.completed","item":{"id":"${id}","type":"reasoning","text":"${i} ${thought}"}}\n`;
    case 2:
      return `{"type":"item.started","item":{"id":"${id}","type":"command_execution","command":"bash -lc 'cat file-${i}.txt'","aggregated_output":"","exit_code":null,"status":"in_progress"}}\n`;
    default:
      return `{"type":"item.completed","item":{"id":"${id}","type":"command_execution","command":"bash -lc 'cat file-${i}.txt'","aggregated_output":"${i} ${outputs[i % outputs.length]}","exit_code":0,"status":"completed"}}\n`;
  }
}

let bytes = 0;
let written = 0;
let flushes = 0;
const progress = () => writeFileSync(progressFile, `${written} ${bytes}`);
async function write(text, events) {
  const ok = process.stdout.write(text);
  bytes += text.length;
  written += events;
  flushes += 1;
  if (flushes % 16 === 0) progress();
  if (!ok) await once(process.stdout, "drain");
}

await write(`{"type":"thread.started","thread_id":"${threadId}"}\n{"type":"turn.started"}\n`, 0);
let batch = "";
let batchEvents = 0;
for (let i = 0; i < total; i += 1) {
  batch += line(i);
  batchEvents += 1;
  // Lines go out in batches of ~64 KB, one write each, so the writer is never the limit.
  if (batch.length >= 65_536) {
    await write(batch, batchEvents);
    batch = "";
    batchEvents = 0;
  }
}
await write(
  `${batch}{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":0,"output_tokens":${total}}}\n`,
  batchEvents,
);
progress();

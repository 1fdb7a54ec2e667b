// A child process that saves thread ids as fast as it can until it is killed: the victim of the
// thread store crash loop (thread-store-crash.ts). Before each save it appends "<agent> <n>" to the
// intent log, after it "<agent> <n> done", so the parent knows which ids may be on disk.
//
// usage: node thread-writer.cjs <state dir> <agent count> <intent log> <iteration>
import { appendFileSync } from "node:fs";

import { parseAgentId } from "../../internal/core/agent-id.js";
import { ThreadStore } from "../../internal/store/thread-store.js";

const [stateDir = "", agentCount = "", intentLog = "", iteration = ""] = process.argv.slice(2);
if (stateDir === "" || intentLog === "" || iteration === "") {
  process.stderr.write("usage: thread-writer <state dir> <agents> <intent log> <iteration>\n");
  process.exit(2);
}
const agents = Number(agentCount);
const store = new ThreadStore(stateDir);
const usage = {
  input_tokens: 1,
  cached_input_tokens: 0,
  cache_write_input_tokens: 0,
  output_tokens: 1,
  reasoning_output_tokens: 0,
};

async function main(): Promise<never> {
  process.stdout.write("ready\n");
  for (let n = 1; ; n += 1) {
    await Promise.all(
      Array.from({ length: agents }, async (_, agent) => {
        appendFileSync(intentLog, `${agent} ${n}\n`);
        await store.save(parseAgentId(`agent-${agent}`), {
          thread_id: threadIdFor(iteration, n),
          usage_baseline: usage,
          confirmed: n % 2 === 0,
        });
        appendFileSync(intentLog, `${agent} ${n} done\n`);
      }),
    );
  }
}

// CommonJS has no top-level await; a failed save must crash loudly (the parent reports it).
main().catch((error: unknown) => {
  process.stderr.write(`thread-writer: ${String(error)}\n`);
  process.exit(1);
});

function threadIdFor(iteration: string, n: number): string {
  return `thread-${iteration}-${n}`;
}

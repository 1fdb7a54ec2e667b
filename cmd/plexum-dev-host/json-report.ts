// `--json`: the dev host's output for scripts, one JSON object per line, each with a `type`. Turn
// events carry the event in protobuf's canonical JSON (snake_case names) beside `type` and `turn`;
// the last line is the `summary`.
import { turnEventJson } from "../../internal/provider/provider-client.js";
import type { HostFact, HostReport } from "./host-report.js";

export class JsonReport implements HostReport {
  readonly #print: (line: string) => void;

  constructor(print: (line: string) => void) {
    this.#print = print;
  }

  report(fact: HostFact): void {
    const object =
      fact.type === "event"
        ? { type: fact.type, turn: fact.turn, ...turnEventJson(fact.event) }
        : fact;
    this.#print(JSON.stringify(object));
  }
}

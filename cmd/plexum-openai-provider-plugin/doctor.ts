// `plexum-openai-provider-plugin doctor [--config file] [--provider name]`: argv only; the checks
// live in internal/doctor.
import { runDoctor } from "../../internal/doctor/run-doctor.js";

export const DOCTOR_USAGE = `usage: plexum-openai-provider-plugin doctor [--config FILE] [--provider NAME]

Checks what a turn needs and prints one line per finding, with what to do about
each problem: the node that runs the plugin (here and under systemd's default
PATH), the codex binary and version, the credentials in effect, the model
endpoint (one short request), the sandbox setting and whether codex's sandbox
works on this host, the state and CODEX_HOME directories, the socket
directories and the config itself. FILE is the plugin's config object, or the
daemon's config.json (the provider entry NAME, else the first).
Exit code 0 means no check failed (warnings do not fail).
`;

/** Runs the doctor; returns the process exit code. */
export async function runDoctorCommand(args: readonly string[]): Promise<number> {
  let configFile: string | undefined;
  let provider: string | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    const equals = arg.indexOf("=");
    const flag = equals < 0 ? arg : arg.slice(0, equals);
    if (flag === "-h" || flag === "--help") {
      process.stdout.write(DOCTOR_USAGE);
      return 0;
    }
    if (flag !== "--config" && flag !== "--provider") {
      process.stderr.write(`unknown argument ${JSON.stringify(arg)}\n\n${DOCTOR_USAGE}`);
      return 2;
    }
    const value = equals < 0 ? args[++index] : arg.slice(equals + 1);
    if (value === undefined || value === "") {
      process.stderr.write(`${flag} needs a value\n\n${DOCTOR_USAGE}`);
      return 2;
    }
    if (flag === "--config") configFile = value;
    else provider = value;
  }
  const report = await runDoctor({ configFile, provider });
  process.stdout.write(report.text);
  return report.exitCode;
}

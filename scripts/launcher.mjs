// The start of every executable that scripts/build.mjs writes: a POSIX sh preamble that finds a
// node and runs the same file with it, then a JavaScript check of that node's version. The file
// is a sh/JavaScript polyglot:
//
//   #!/bin/sh
//   ':' /*              sh: the `:` no-op; node: a string, then a comment that hides the sh code
//   ...sh code, which always ends in exec or exit...
//   */
//   "use strict";       still in the directive prologue after the ':' string, so strict mode holds
//
// So the executable holds no path of the machine that built it: copied to another host it runs the
// node named by PLEXUM_NODE_PATH, else the first `node` on PATH, and it says so in words when there
// is none or it is too old (a go-plugin host would otherwise only see "plugin exited").

/** The oldest Node.js the executables run on; keep in step with package.json `engines`. */
export const MIN_NODE = { major: 20, minor: 17 };

const NEED = `Node.js 22 or 24 (20.${MIN_NODE.minor} or newer works)`;

// Plain sh builtins only (PATH may hold nothing else); `date` is optional. glibc reads
// MALLOC_ARENA_MAX only when a process starts, so it is set here (README, Memory). `%{` stands for
// the shell's `${`, which a template literal would take for its own.
const SH = String.raw`#!/bin/sh
':' /*
# Launcher (scripts/launcher.mjs): runs this file with $PLEXUM_NODE_PATH, else the first node on
# PATH. Node reads the line above as a string and this block as a comment.
plexum_fail() {
  if [ -t 2 ]; then
    printf '%s: %s\n' "$0" "$1" >&2
  else
    # One hclog JSON line, which a go-plugin host logs at error level.
    plexum_rest="$0: $1" plexum_msg=
    while [ -n "$plexum_rest" ]; do
      plexum_char=%{plexum_rest%"%{plexum_rest#?}"}
      plexum_rest=%{plexum_rest#?}
      case $plexum_char in
        \\ | \") plexum_msg="$plexum_msg\\$plexum_char" ;;
        [[:cntrl:]]) plexum_msg="$plexum_msg " ;;
        *) plexum_msg="$plexum_msg$plexum_char" ;;
      esac
    done
    plexum_ts=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z 2>/dev/null) || plexum_ts=
    if [ -n "$plexum_ts" ]; then plexum_ts=",\"@timestamp\":\"$plexum_ts\""; fi
    printf '{"@level":"error","@message":"%s"%s}\n' "$plexum_msg" "$plexum_ts" >&2
  fi
  exit 1
}
plexum_node=%{PLEXUM_NODE_PATH-}
if [ -n "$plexum_node" ]; then
  if ! [ -f "$plexum_node" ] || ! [ -x "$plexum_node" ]; then
    plexum_fail "PLEXUM_NODE_PATH=$plexum_node is not an executable file; point it at a node binary: ${NEED}"
  fi
else
  plexum_ifs=$IFS
  IFS=:
  set -f
  for plexum_dir in %{PATH-}; do
    case $plexum_dir in /*) ;; *) continue ;; esac
    if [ -f "$plexum_dir/node" ] && [ -x "$plexum_dir/node" ]; then
      plexum_node=$plexum_dir/node
      break
    fi
  done
  IFS=$plexum_ifs
  set +f
  if [ -z "$plexum_node" ]; then
    plexum_fail "no node found: PLEXUM_NODE_PATH is not set and no directory on PATH (%{PATH-}) holds a node; install ${NEED}, or set PLEXUM_NODE_PATH to a node binary in the environment that starts this program"
  fi
fi
MALLOC_ARENA_MAX=%{MALLOC_ARENA_MAX:-2}
export MALLOC_ARENA_MAX
exec "$plexum_node" "$0" "$@"
*/
"use strict";
`.replaceAll("%{", "${");

// ES5 on purpose: it must run, and say what is wrong, on a node far older than the one the bundle
// needs. The bundle itself (after it) may not even parse there, which is why the fast-start layout
// (scripts/fast-start.mjs) keeps it in a comment until this check has passed.
const VERSION_CHECK = `(function () {
  var version = process.versions.node.split(".");
  var major = Number(version[0]);
  var minor = Number(version[1]);
  if (major > ${MIN_NODE.major} || (major === ${MIN_NODE.major} && minor >= ${MIN_NODE.minor})) return;
  var text = __filename + ": node " + process.version + " at " + process.execPath +
    " is too old; this program needs ${NEED}. Set PLEXUM_NODE_PATH to a newer node, or put one " +
    "first on PATH, in the environment that starts this program";
  process.stderr.write(process.stderr.isTTY ? text + "\\n" : JSON.stringify({
    "@level": "error",
    "@message": text,
    "@timestamp": new Date().toISOString().replace("Z", "000Z"),
  }) + "\\n");
  process.exit(1);
})();
`;

/** The text every executable starts with; it ends with a newline. */
export function launcherHeader() {
  // The sh code must not close node's comment early.
  if (SH.indexOf("*/") !== SH.lastIndexOf("*/")) throw new Error("launcher: `*/` in the sh code");
  return SH + VERSION_CHECK;
}

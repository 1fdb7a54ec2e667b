#!/usr/bin/env bash
# Runs the unit suite under a shifted clock (libfaketime): nothing may depend on today's date, the
# time of day or the time zone. Each case starts one minute before a boundary and ticks across it:
#   year-end  Pacific/Kiritimati (UTC+14), the last minute of the year after next (over a year ahead)
#   dst       America/Santiago, the minute before its first daylight-saving change next year (Chile
#             moves its clocks at midnight, so the local date jumps or repeats an hour)
#   leap-day  Pacific/Pago_Pago (UTC-11), the last minute of the next Feb 29 at least a year ahead
# Usage: .ci/shifted-clocks.sh [case…] (default: all three). Runs with the node first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/faketime-deps.sh >/dev/null

year=$(date -u +%Y)

# Prints "<zone>|<faketime start>|<label>" for a case.
clock_case() {
  case "$1" in
    year-end)
      echo "Pacific/Kiritimati|$((year + 2))-12-31 23:59:00|UTC+14, the last minute of $((year + 2))"
      ;;
    dst)
      # The UTC minute before the zone's first offset change next year.
      local at
      at=$(TZ=America/Santiago node -e '
        const year = Number(process.argv[1]);
        const offset = (t) => new Date(t).getTimezoneOffset();
        let t = Date.UTC(year, 0, 1);
        const end = Date.UTC(year + 1, 0, 1);
        while (t < end && offset(t + 3600_000) === offset(t)) t += 3600_000;
        if (t >= end) process.exit(1);
        while (offset(t + 60_000) === offset(t)) t += 60_000;
        const iso = new Date(t).toISOString();
        console.log(`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`);
      ' $((year + 1))) || {
        echo "shifted-clocks: tzdata shows no DST change in America/Santiago in $((year + 1))" >&2
        return 1
      }
      echo "America/Santiago|$at|across a daylight-saving change"
      ;;
    leap-day)
      local leap=$((year + 1))
      until [ $((leap % 4)) -eq 0 ] && { [ $((leap % 100)) -ne 0 ] || [ $((leap % 400)) -eq 0 ]; }; do
        leap=$((leap + 1))
      done
      echo "Pacific/Pago_Pago|$leap-02-29 23:59:00|UTC-11, the last minute of $leap-02-29"
      ;;
    *)
      echo "shifted-clocks: unknown case '$1' (year-end, dst, leap-day)" >&2
      return 1
      ;;
  esac
}

run() {
  local spec zone at label shown started
  spec=$(clock_case "$1")
  IFS='|' read -r zone at label <<<"$spec"
  # libfaketime must really move the clock Node sees; otherwise the run would prove nothing.
  shown=$(TZ=$zone faketime "$at" node -e 'console.log(new Date().toString())')
  echo
  echo "--- unit tests, $label: TZ=$zone faketime '$at' (node $(node --version) sees: $shown)"
  case "$shown" in
    *"${at:0:4}"*) ;;
    *)
      echo "shifted-clocks: faketime did not shift Node's clock to $at" >&2
      exit 1
      ;;
  esac
  started=$SECONDS
  TZ=$zone faketime "$at" npx vitest run --project unit
  echo "--- $label: $((SECONDS - started)) s"
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(year-end dst leap-day)
for name in "${cases[@]}"; do run "$name"; done

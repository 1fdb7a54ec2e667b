#!/usr/bin/env bash
# Runs the unit suite again under shifted clocks (libfaketime): nothing may depend on today's date,
# the time of day or the time zone. Three runs, each starting one minute before a boundary and
# ticking across it:
#   - Pacific/Kiritimati (UTC+14), the last minute of the year after next (over a year ahead);
#   - America/Santiago, the minute before its first daylight-saving change next year (Chile moves
#     its clocks at midnight, so the local date jumps or repeats an hour);
#   - Pacific/Pago_Pago (UTC-11), the last minute of the next Feb 29 at least a year ahead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/faketime-deps.sh

year=$(date -u +%Y)
ahead=$((year + 2))
leap=$((year + 1))
until [ $((leap % 4)) -eq 0 ] && { [ $((leap % 100)) -ne 0 ] || [ $((leap % 400)) -eq 0 ]; }; do
  leap=$((leap + 1))
done
# The UTC minute before the zone's first offset change in the given year.
dst=$(TZ=America/Santiago node -e '
  const year = Number(process.argv[1]);
  const offset = (t) => new Date(t).getTimezoneOffset();
  let t = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  while (t < end && offset(t + 3600_000) === offset(t)) t += 3600_000;
  if (t >= end) process.exit(1);
  while (offset(t + 60_000) === offset(t)) t += 60_000;
  const at = new Date(t).toISOString();
  console.log(`${at.slice(0, 10)} ${at.slice(11, 19)} UTC`);
' $((year + 1))) || {
  echo "shifted-clocks: tzdata shows no daylight-saving change in America/Santiago in $((year + 1))" >&2
  exit 1
}

run() {
  local label=$1 zone=$2 at=$3 shown
  # libfaketime must really move the clock Node sees; otherwise the run would prove nothing.
  shown=$(TZ=$zone faketime "$at" node -e 'console.log(new Date().toString())')
  echo
  echo "--- unit tests, $label: TZ=$zone faketime '$at' (Node sees: $shown)"
  case "$shown" in
    *"${at:0:4}"*) ;;
    *)
      echo "shifted-clocks: faketime did not shift Node's clock to $at" >&2
      exit 1
      ;;
  esac
  local started=$SECONDS
  TZ=$zone faketime "$at" npx vitest run --project unit
  echo "--- $label: $((SECONDS - started)) s"
}

run "UTC+14, the last minute of $ahead" Pacific/Kiritimati "$ahead-12-31 23:59:00"
run "across a daylight-saving change" America/Santiago "$dst"
run "UTC-11, the last minute of $leap-02-29" Pacific/Pago_Pago "$leap-02-29 23:59:00"

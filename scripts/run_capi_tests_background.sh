#!/usr/bin/env bash
# The background guide's front door, kept for crontabs and habits: its flags are mapped
# onto capi-launch, which does the work (docs/capi-launch.md, "The guide's script").
#
#   run_capi_tests_background.sh --method nohup|screen|tmux|batch --parallel N --batch M --file F [--monitor]
#   run_capi_tests_background.sh --stop [RUN]
#   run_capi_tests_background.sh --status [RUN]
#
# Any other option (--base-url, --rate, --wait, --header...) is passed to capi-launch as is.
# `--method batch` runs the batches in this terminal (capi-launch --foreground).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
launch="${CAPI_LAUNCH_BIN:-$here/../tools/capi-launch/bin/capi-launch.js}"
node="${NODE:-node}"

usage() {
  sed -n '5,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
  echo "run_capi_tests_background.sh: $1" >&2
  echo "Try 'run_capi_tests_background.sh --help' for more information." >&2
  exit 2
}

method=nohup
file="${CAPI_SUITE:-}"
action=""
run=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --method) [ $# -ge 2 ] || die "option '--method' needs a value"; method="$2"; shift 2 ;;
    --method=*) method="${1#*=}"; shift ;;
    --parallel) [ $# -ge 2 ] || die "option '--parallel' needs a value"; args+=(--parallel "$2"); shift 2 ;;
    --batch) [ $# -ge 2 ] || die "option '--batch' needs a value"; args+=(--batch-size "$2"); shift 2 ;;
    --file) [ $# -ge 2 ] || die "option '--file' needs a value"; file="$2"; shift 2 ;;
    --monitor) args+=(--monitor); shift ;;
    --stop|--status)
      action="$1"; shift
      if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then run="$1"; shift; fi ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ -n "$action" ]; then
  exec "$node" "$launch" "$action" ${run:+"$run"} ${args[@]+"${args[@]}"}
fi

case "$method" in
  nohup|screen|tmux) how="--$method" ;;
  batch) how="--foreground" ;;
  *) die "--method takes one of nohup, screen, tmux, batch (got \"$method\")" ;;
esac
[ -n "$file" ] || die "name the suite with --file F (or set CAPI_SUITE)"

exec "$node" "$launch" "$file" "$how" ${args[@]+"${args[@]}"}

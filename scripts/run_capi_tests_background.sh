#!/usr/bin/env bash
# The background guide's front door, kept for crontabs and habits: its flags are mapped
# onto capi-launch, which does the work (docs/capi-launch.md, "The guide's script").
#
#   run_capi_tests_background.sh --method nohup|screen|tmux|batch --parallel N --batch M --file F [--monitor]
#   run_capi_tests_background.sh --stop [RUN]
#   run_capi_tests_background.sh --status [RUN]
#
# Every option also takes the --opt=value form. Any other option (--base-url, --rate,
# --wait, --header...) is passed to capi-launch as is. `--method batch` is the guide's
# parallel batch mode: it starts in the background (capi-launch --nohup) and returns;
# --monitor then watches it here. The suite is --file F or $CAPI_SUITE: the guide's
# runner had no default file, so without one this prints the usage and exits 2.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
launch="${CAPI_LAUNCH_BIN:-$here/../tools/capi-launch/bin/capi-launch.js}"
node="${NODE:-node}"

usage() {
  sed -n '5,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
[ $# -gt 0 ] || [ -n "$file" ] || {
  echo "run_capi_tests_background.sh: no suite to run: name it with --file F (or set CAPI_SUITE)" >&2
  usage >&2
  exit 2
}
# the value of an option given as `--opt VALUE` or `--opt=VALUE`; `shifts` says how many words it took
value() {
  case "$1" in
    *=*) val="${1#*=}"; shifts=1 ;;
    *) [ $# -ge 2 ] || die "option '$1' needs a value"; val="$2"; shifts=2 ;;
  esac
}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --method|--method=*) value "$@"; method="$val"; shift "$shifts" ;;
    --parallel|--parallel=*) value "$@"; args+=(--parallel "$val"); shift "$shifts" ;;
    --batch|--batch=*) value "$@"; args+=(--batch-size "$val"); shift "$shifts" ;;
    --file|--file=*) value "$@"; file="$val"; shift "$shifts" ;;
    --monitor) args+=(--monitor); shift ;;
    --stop|--status)
      action="$1"; shift
      if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then run="$1"; shift; fi ;;
    --stop=*|--status=*) action="${1%%=*}"; run="${1#*=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ -n "$action" ]; then
  exec "$node" "$launch" "$action" ${run:+"$run"} ${args[@]+"${args[@]}"}
fi

case "$method" in
  nohup|screen|tmux) how="--$method" ;;
  batch) how="--nohup" ;; # the guide's batch mode ran its batches in the background too
  *) die "--method takes one of nohup, screen, tmux, batch (got \"$method\")" ;;
esac
# an explicit capi-launch method (--foreground: batches in this terminal) wins over --method
for a in ${args[@]+"${args[@]}"}; do
  case "$a" in --foreground|--nohup|--screen|--tmux) how="" ;; esac
done
[ -n "$file" ] || die "name the suite with --file F (or set CAPI_SUITE)"

exec "$node" "$launch" "$file" ${how:+"$how"} ${args[@]+"${args[@]}"}

#!/usr/bin/env bash
# Time `dockyard load -i TAR` into an empty store N times (median printed); optional cProfile.
#   bench/probes/load.sh TAR [N] [profile]
set -euo pipefail
TAR=$1; N=${2:-3}; ROOT=$(mktemp -d /tmp/dyperf-load.XXXX)
PY="$(dirname "$0")/../../.venv/bin/python"
ts=()
for i in $(seq "$N"); do
    rm -rf "$ROOT/store"; sync
    s=$(date +%s.%N); "$PY" -m dockyard --root "$ROOT/store" load -q -i "$TAR" >/dev/null; e=$(date +%s.%N)
    ts+=("$(echo "$e - $s" | bc)")
done
printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {print "load runs:", NR, "median", a[int((NR+1)/2)], "min", a[1], "max", a[NR]}'
if [ "${3:-}" = profile ]; then
    rm -rf "$ROOT/store"
    "$PY" -m cProfile -s tottime -m dockyard --root "$ROOT/store" load -q -i "$TAR" | sed -n 1,30p
fi
rm -rf "$ROOT"

#!/usr/bin/env bash
# Interleaved timing of `dockyard pull` into an empty store against `skopeo copy docker://… oci:DIR`.
#   bench/probes/pull.sh HOST:PORT/REPO:TAG [N] [PYTHONPATH-of-an-older-src]
# With a third argument the older source tree is timed too (same venv), for before/after numbers.
set -euo pipefail
REF=$1; N=${2:-3}; OLD=${3:-}; W=$(mktemp -d /tmp/dyperf-pull.XXXX)
PY="$(cd "$(dirname "$0")/../.." && pwd)/.venv/bin/python"
declare -A T C
run() {  # name, command...: wall and CPU (user+sys) seconds; CPU is the steadier one on a busy machine
    local name=$1; shift
    sync; /usr/bin/time -f '%e %U %S' -o "$W/t" "$@" >/dev/null 2>&1
    read -r e u s < "$W/t"
    T[$name]+="$e "; C[$name]+="$(echo "$u + $s" | bc) "
}
for i in $(seq "$N"); do
    rm -rf "$W/store" "$W/oci" "$W/old"
    run dockyard "$PY" -m dockyard --root "$W/store" pull -q "$REF"
    run skopeo skopeo copy -q --src-tls-verify=false "docker://$REF" "oci:$W/oci"
    if [ -n "$OLD" ]; then rm -rf "$W/old"; run before env PYTHONPATH="$OLD" "$PY" -m dockyard --root "$W/old" pull -q "$REF"; fi
done
for k in "${!T[@]}"; do
    printf '%s\n' ${T[$k]} | sort -n | awk -v k="$k" '{a[NR]=$1} END {printf "%-9s wall median %.3f  min %.3f  max %.3f (n=%d)", k, a[int((NR+1)/2)], a[1], a[NR], NR}'
    printf '%s\n' ${C[$k]} | sort -n | awk '{a[NR]=$1} END {printf "   cpu median %.3f\n", a[int((NR+1)/2)]}'
done
rm -rf "$W"

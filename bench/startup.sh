#!/usr/bin/env bash
# Start-up time of `dbsage --help`: the median (and 90th percentile) of many runs, against the
# 10 ms budget. Uses the `./x dist` binary, else the release one; DBSAGE_BIN overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DBSAGE_BIN:-}
if [ -z "$bin" ]; then
    for candidate in target/dist/dbsage target/release/dbsage; do
        [ -x "$candidate" ] && { bin=$candidate; break; }
    done
fi
[ -n "$bin" ] || { echo "error: no optimised binary: run ./x dist (or set DBSAGE_BIN)" >&2; exit 2; }
runs=${RUNS:-200}
"$bin" --help >/dev/null   # warm the page cache
# Microseconds per run of "$@", sorted. Bash's $EPOCHREALTIME reads the clock without a fork
# (timing with `date` added a fork/exec of its own, ~8 ms under load); /bin/true, measured the
# same way, shows the fork/exec floor.
timings() {
    local times=() start end
    for _ in $(seq "$runs"); do
        start=${EPOCHREALTIME/./}
        "$@" >/dev/null
        end=${EPOCHREALTIME/./}
        times+=($((end - start)))
    done
    printf '%s\n' "${times[@]}" | sort -n
}
floor=($(timings /bin/true))
sorted=($(timings "$bin" --help))
median=${sorted[$((runs / 2))]}
p90=${sorted[$((runs * 9 / 10))]}
floor_median=${floor[$((runs / 2))]}
printf 'dbsage --help (%s, %s runs): median %d.%03d ms, p90 %d.%03d ms (budget 10 ms); /bin/true measured the same way: %d.%03d ms\n' \
    "$bin" "$runs" $((median / 1000)) $((median % 1000)) $((p90 / 1000)) $((p90 % 1000)) \
    $((floor_median / 1000)) $((floor_median % 1000))
[ "$median" -lt 10000 ] || { echo "FAIL: median start-up over 10 ms" >&2; exit 1; }

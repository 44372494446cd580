#!/usr/bin/env bash
# Lint benchmark: dbsage's migration linter vs squawk on the same 1,000 generated migration
# files (~50 statements each, ~8 MB), then on one file of 20,000 statements (~3.4 MB, checked
# in chunks). Prints the median wall time of each, the ratio and the load average.
#
#   bench/lint.sh                 # from the repo root; RUNS=7 FILES=1000 BIG=20000 to change
#
# Targets (issue 3): dbsage <= 1 s on this machine, and faster than squawk. Issue 10: the
# 20,000-statement file in no more than 2× squawk's time (time grows linearly).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
FILES=${FILES:-1000}
STATEMENTS=${STATEMENTS:-50}
BIG=${BIG:-20000}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/lint_generate.py "$work/migrations" "$FILES" "$STATEMENTS"
size=$(du -sb "$work/migrations" | cut -f1)
python3 bench/lint_generate.py "$work/big" 1 "$BIG"
big_size=$(du -sb "$work/big" | cut -f1)

# Prefer the real CLI when it has the lint command; else the library's example binary.
if cargo build -q --release -p dbsage-cli 2>/dev/null && target/release/dbsage lint --help >/dev/null 2>&1; then
    printf '[lint]\n' >"$work/dbsage.toml"
    dbsage_cmd=("$PWD/target/release/dbsage" lint --format json)
    dbsage_label="target/release/dbsage lint --format json"
else
    cargo build -q --release -p dbsage-lint --example lint_files
    dbsage_cmd=("$PWD/target/release/examples/lint_files")
    dbsage_label="dbsage-lint example lint_files (lint + render_json)"
fi

if ! command -v squawk >/dev/null 2>&1; then
    echo "installing squawk-cli from PyPI..." >&2
    pip install --quiet squawk-cli >&2
fi

# Median wall time in seconds of running "$@" on the files of directory $dir RUNS times (exit
# status ignored: both tools exit non-zero when they report findings).
dir=migrations
median() {
    local times=()
    for _ in $(seq "$RUNS"); do
        local start end
        start=$(date +%s.%N)
        (cd "$work" && "$@" "$dir"/*.sql >/dev/null 2>&1) || true
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc -l)")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}

echo "files: $FILES x ~$STATEMENTS statements, $(echo "scale=1; $size / 1000000" | bc) MB; $RUNS runs each; $(nproc) cores"
dbsage_median=$(median "${dbsage_cmd[@]}")
echo "dbsage: median ${dbsage_median} s   ($dbsage_label)"
squawk_median=$(median squawk --reporter json)
echo "squawk: median ${squawk_median} s   (squawk $(squawk --version | awk '{print $2}') --reporter json)"
echo "ratio dbsage/squawk: $(echo "scale=2; $dbsage_median / $squawk_median" | bc -l)"

dir=big
echo "one file: $BIG statements, $(echo "scale=1; $big_size / 1000000" | bc) MB; $RUNS runs each"
dbsage_median=$(median "${dbsage_cmd[@]}")
echo "dbsage: median ${dbsage_median} s"
squawk_median=$(median squawk --reporter json)
echo "squawk: median ${squawk_median} s"
echo "ratio dbsage/squawk: $(echo "scale=2; $dbsage_median / $squawk_median" | bc -l)   (target <= 2)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

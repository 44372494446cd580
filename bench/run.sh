#!/usr/bin/env bash
# Runs every benchmark; `./x bench [migrate|lint|import|import_memory|memory|tune|health|backup|diff|move|fleet|startup]` runs one.
set -euo pipefail
cd "$(dirname "$0")"
which=${1:-all}
for b in migrate lint import import_memory memory tune health backup diff move fleet startup; do
    if [ "$which" = all ] || [ "$which" = "$b" ]; then
        echo "################ $b"
        bash "./$b.sh"
    fi
done

#!/usr/bin/env bash
# What `./x dist` does after the build: writes the completions and man pages beside the binary
# and prints its size, what it links and the install commands. Kept apart from the build so a
# test can run it on any dbsage binary (the fat-LTO build itself takes too long for the suite).
#   dist/package.sh BINARY OUT_DIR
set -euo pipefail
bin=$1
out=$2
rm -rf "$out" && mkdir -p "$out/completions" "$out/man"
for shell in bash zsh fish powershell; do "$bin" completions "$shell" >"$out/completions/dbsage.$shell"; done
"$bin" man --out-dir "$out/man"
"$bin" --version
echo "binary: $bin ($(du -h "$bin" | cut -f1), $(stat -c %s "$bin") bytes; linked: $(ldd "$bin" 2>/dev/null | awk '{print $1}' | tr '\n' ' '))"
echo "install:"
echo "  sudo install -m 0755 $bin /usr/local/bin/dbsage"
echo "  sudo install -m 0644 $out/man/*.1 /usr/local/share/man/man1/"
echo "  install -D -m 0644 $out/completions/dbsage.bash ~/.local/share/bash-completion/completions/dbsage"
echo "from source instead: cargo install --locked --path crates/dbsage-cli"

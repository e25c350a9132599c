#!/bin/sh
# `cargo install --path .` into a temporary root, then checks the installed tool as a user
# meets it: it runs from outside the checkout, names its commit and prompt fingerprint,
# finds the built-in prompts, and `make install-extras` installs completions and man pages.
#
#   INSTALL_PROFILE=debug   (default) reuses the dev build `make test` just made: seconds
#                           on CI's warm cache
#   INSTALL_PROFILE=release the shipped build; also checks the binary carries no debug info
#                           and stays under MAX_BINARY_MB (a clean release build takes
#                           8+ minutes on 2 cores)
#
# Builds go to CARGO_TARGET_DIR when set (cargo install --path uses it), else ./target.
set -eu
cd "$(dirname "$0")/.."
PROFILE=${INSTALL_PROFILE:-debug}
MAX_BINARY_MB=${MAX_BINARY_MB:-40}
CARGO=${CARGO:-cargo}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM

case "$PROFILE" in
  debug) "$CARGO" install --path . --locked --debug --root "$root" ;;
  release) "$CARGO" install --path . --locked --root "$root" ;;
  *) echo "INSTALL_PROFILE must be debug or release, not $PROFILE" >&2; exit 2 ;;
esac
bin=$root/bin/aegis-ingest
[ -x "$bin" ] || { echo "install-check: $bin was not installed" >&2; exit 1; }

# From outside the checkout, with no settings file or prompts folder in the environment.
version=$(cd "$root" && env -u AEGIS_CONFIG -u AEGIS_PROMPTS_DIR "$bin" --version)
echo "$version"
echo "$version" | grep -q "^prompt fingerprint (general): [0-9a-f]\{32\} " || {
  echo "install-check: the installed binary does not find the built-in prompts" >&2; exit 1; }

make --no-print-directory install-extras PREFIX="$root" AEGIS_BIN="$bin" >/dev/null
for f in share/bash-completion/completions/aegis-ingest share/zsh/site-functions/_aegis-ingest \
         share/fish/vendor_completions.d/aegis-ingest.fish share/man/man1/aegis-ingest.1 \
         share/man/man1/aegis-ingest-run.1 share/aegis-ingest/prompts/general/taxonomy.toml; do
  [ -s "$root/$f" ] || { echo "install-check: $f missing or empty" >&2; exit 1; }
done

size=$(wc -c <"$bin")
echo "install-check: installed $PROFILE binary: $size bytes"
if [ "$PROFILE" = release ]; then
  if command -v readelf >/dev/null 2>&1 && readelf -S "$bin" | grep -q '\.debug_info'; then
    echo "install-check: the release binary carries debug info (see [profile.release])" >&2
    exit 1
  fi
  [ "$size" -le $((MAX_BINARY_MB * 1024 * 1024)) ] || {
    echo "install-check: the release binary is over $MAX_BINARY_MB MB" >&2; exit 1; }
fi
echo "install-check: ok"

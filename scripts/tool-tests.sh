#!/usr/bin/env bash
# The last step of `make test`: the integration tests that need programs from outside Rust,
# nginx (https through a TLS proxy, tests/it/endpoints.rs) and PostgreSQL and FalkorDB (the
# export round trips, tests/it/export.rs). A plain `cargo test` lists them as ignored; here
# they run, picked by name (each has its program's name in its own).
#
# With AEGIS_ALLOW_SKIP=1 (the default here) a test whose program is missing records itself
# in a log and passes, and the last lines of the output say which tests were skipped and
# how to install what they need. With AEGIS_ALLOW_SKIP=0, or CI=true, a missing program
# fails the test: .ci/run installs them all (scripts/db/install.sh, apt-get install nginx)
# and sets AEGIS_ALLOW_SKIP=0, so CI never passes them untested.
set -euo pipefail
cd "$(dirname "$0")/.."

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
AEGIS_ALLOW_SKIP="${AEGIS_ALLOW_SKIP:-1}" AEGIS_SKIP_LOG="$log" \
  "${CARGO:-cargo}" test --test it -- --ignored nginx postgres falkordb || status=$?

if [ -s "$log" ]; then
  n=$(cut -f2 "$log" | sort -u | wc -l)
  echo
  echo "== SKIPPED $n test(s): the programs they need are missing (every other test ran)"
  sort -u "$log" | awk -F'\t' '
    { n[$1]++; how[$1] = $3; names[$1] = names[$1] "\n     " $2 }
    END { for (p in n) printf "   %s missing: %d test(s); install: %s%s\n", p, n[p], how[p], names[p] }'
  echo "   (AEGIS_ALLOW_SKIP=0 makes a missing program fail the tests, as in CI)"
elif [ "$status" = 0 ]; then
  echo "== the tests that need nginx, PostgreSQL and FalkorDB ran: none skipped"
fi
exit "$status"

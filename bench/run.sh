#!/usr/bin/env bash
# All benchmarks in turn; each prints a Markdown table. Not part of the tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(cd "$here/.." && npm run -s build)
for b in registry push files tls scan; do
  echo "## $b"
  bash "$here/$b.sh"
  echo
done

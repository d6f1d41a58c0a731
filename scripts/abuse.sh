#!/usr/bin/env bash
# Replays every attack of issue 7 at once against a real classifyd with a
# 512 MiB memory budget (default limits otherwise; URL and path inputs on,
# so those handlers are reached), then checks what only the server shows:
#
#   - every request answered within request_timeout, no error body over 4 KiB
#     (cmd/abuse, which also prints the statuses per attack);
#   - no log line over 4 KiB;
#   - peak RSS (VmHWM) at most the budget + 160 MiB;
#   - HEAD /healthz is 200, and coffee.png still comes back as espresso.
#
#   scripts/abuse.sh                 # MEMORY_BUDGET=536870912 by default
#
# Needs the default models (scripts/fetch-models.sh; MODEL_CACHE or
# TEST_MODELS_DIR with the MobileNet archive works offline) and
# $TEST_IMAGES_DIR/coffee.png for the last check. Exits non-zero when any
# check fails. Traffic goes to 127.0.0.1 only.
set -euo pipefail

cd "$(dirname "$0")/.."
BUDGET=${MEMORY_BUDGET:-536870912}
TIMEOUT=${REQUEST_TIMEOUT:-30s}
IMAGES=${TEST_IMAGES_DIR:-../shared/images}

if [[ ! -f models/theme/frozen_graph.pb ]]; then
	if [[ -z "${MODEL_CACHE:-}" && -n "${TEST_MODELS_DIR:-}" && -f "$TEST_MODELS_DIR/mobilenet_v1_0.25_128_frozen.tgz" ]]; then
		export MODEL_CACHE=$TEST_MODELS_DIR/mobilenet_v1_0.25_128_frozen.tgz
	fi
	scripts/fetch-models.sh
fi

source scripts/lib.sh

echo "== building"
go build -o "$tmp/classifyd" ./cmd/classifyd
go build -o "$tmp/abuse" ./cmd/abuse

port=$(free_port)
addr=127.0.0.1:$port
mkdir -p "$tmp/images"

echo "== starting classifyd on $addr (memory_budget $BUDGET, request_timeout $TIMEOUT)"
"$tmp/classifyd" --addr "$addr" --memory-budget "$BUDGET" --request-timeout "$TIMEOUT" \
	--url-inputs --image-root "$tmp/images" >"$tmp/server.log" 2>&1 &
server_pid=$!
wait_ready "$addr" "$tmp/server.log"
curl -fsS "http://$addr/readyz"; echo
rss_start=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")

echo "== attacks ($(nproc) CPUs, $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
status=0
"$tmp/abuse" -url "http://$addr" -timeout "$TIMEOUT" || status=1

echo "== server"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
limit_kb=$(( BUDGET / 1024 + 160 * 1024 ))
printf 'peak RSS (VmHWM)   %d MiB (start %d MiB; limit: budget %d MiB + 160 MiB = %d MiB)\n' \
	$((hwm / 1024)) $((rss_start / 1024)) $((BUDGET >> 20)) $((limit_kb / 1024))
(( hwm <= limit_kb )) || { echo "  FAIL peak RSS over the limit"; status=1; }

longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$tmp/server.log")
printf 'longest log line   %d bytes (limit 4096) of %d lines\n' "$longest" "$(wc -l <"$tmp/server.log")"
(( longest <= 4096 )) || { echo "  FAIL a log line is over 4 KiB"; status=1; }

head_status=$(curl -s -o /dev/null -w '%{http_code}' -I "http://$addr/healthz")
echo "HEAD /healthz      $head_status"
[[ "$head_status" == 200 ]] || { echo "  FAIL"; status=1; }

if [[ -f "$IMAGES/coffee.png" ]]; then
	top=$(curl -fsS -F "image=@$IMAGES/coffee.png" "http://$addr/v1/classify" |
		sed -n 's/.*"theme":{"labels":\[{"label":"\([^"]*\)".*/\1/p')
	echo "coffee.png theme   ${top:-no answer}"
	[[ "$top" == espresso ]] || { echo "  FAIL want espresso"; status=1; }
else
	echo "coffee.png         not found in $IMAGES (set TEST_IMAGES_DIR): check skipped"
	status=1
fi

kill -TERM "$server_pid"
wait "$server_pid" || { echo "classifyd did not exit cleanly"; status=1; }
server_pid=""
echo "== classifyd stopped; $([[ $status == 0 ]] && echo all checks passed || echo SOME CHECKS FAILED)"
exit "$status"

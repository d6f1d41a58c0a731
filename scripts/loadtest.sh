#!/usr/bin/env bash
# Load-test classifyd with its default models: build the server and the load
# generator, start the server on a free loopback port, wait until it is
# ready, post multipart images from CLIENTS concurrent clients for DURATION,
# stop the server and print the report (the README shows its output).
#
#   scripts/loadtest.sh                      # 32 clients for 20 s
#   CLIENTS=8 DURATION=5s IMAGE=photo.jpg scripts/loadtest.sh
#
# IMAGE defaults to $TEST_IMAGES_DIR/coffee.png when that exists, else the
# load generator makes a 640x480 PNG. MODELS is the model manifest (default
# models/models.yaml). Extra arguments go to classifyd (for example
# --config classifyd.yaml or --rate-limit 50). Exits non-zero when any
# request failed other than by the rate limit, or when the server does not
# answer or exit cleanly afterwards.
set -euo pipefail

cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-20s}
MODELS=${MODELS:-models/models.yaml}
if [[ -z "${IMAGE:-}" && -n "${TEST_IMAGES_DIR:-}" && -f "$TEST_IMAGES_DIR/coffee.png" ]]; then
	IMAGE=$TEST_IMAGES_DIR/coffee.png
fi
IMAGE=${IMAGE:-}

if [[ "$MODELS" == models/models.yaml && ! -f models/theme/frozen_graph.pb && -x scripts/fetch-models.sh ]]; then
	echo "== fetching the default theme model (scripts/fetch-models.sh)"
	scripts/fetch-models.sh
fi

source scripts/lib.sh

echo "== building"
go build -o "$tmp/classifyd" ./cmd/classifyd
go build -o "$tmp/loadtest" ./cmd/loadtest

# A free port: one where nothing answers a TCP connect. Another program could
# take it before classifyd binds; then the start check below fails loudly.
port=$(free_port)
addr=127.0.0.1:$port

echo "== starting classifyd on $addr with $MODELS"
"$tmp/classifyd" --addr "$addr" --models "$MODELS" "$@" >"$tmp/server.log" 2>&1 &
server_pid=$!

wait_ready "$addr" "$tmp/server.log"
echo "== models"
curl -fsS "http://$addr/readyz"
echo

echo "== load: $CLIENTS clients for $DURATION ($(nproc) CPUs, $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
status=0
"$tmp/loadtest" -url "http://$addr/v1/classify" ${IMAGE:+-image "$IMAGE"} \
	-c "$CLIENTS" -d "$DURATION" -pid "$server_pid" || status=$?

# The server must still answer after the load.
if ! curl -fsS -o /dev/null "http://$addr/healthz"; then
	echo "classifyd does not answer /healthz after the load" >&2
	status=1
fi
kill -TERM "$server_pid"
if ! wait "$server_pid"; then
	echo "classifyd did not exit cleanly on SIGTERM; its log ends:" >&2
	tail -n 20 "$tmp/server.log" >&2
	status=1
fi
server_pid=""
echo "== classifyd stopped"
exit "$status"

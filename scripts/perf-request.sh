#!/usr/bin/env bash
# The request path on a 12 MP photo, side by side with libjpeg-turbo in one
# run (issue 8): tjbench and our decoder at 1/1 and 1/8 (scripts/perf-jpeg.sh),
# then classifyd with its default models answering /v1/classify for the same
# file at 1 client (median latency) and 8 clients (server CPU time per
# request, from /proc/PID/stat), each as a ratio to tjbench's 1/8 decode.
#
#   scripts/perf-request.sh [photo.jpg]    # default: a generated 4032x3024 q90 file
#   PERF_SMALL_ONLY=1 scripts/perf-request.sh   # only the small images below
#
# At the end, coffee.png and grace_hopper.jpg at 1 client against a baseline
# build (PERF_BASELINE, see below).
#
# Needs libjpeg-turbo-progs and the default models (scripts/fetch-models.sh;
# TEST_MODELS_DIR with the MobileNet archive works offline). Traffic goes to
# 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [[ ! -f models/theme/frozen_graph.pb ]]; then
	if [[ -z "${MODEL_CACHE:-}" && -n "${TEST_MODELS_DIR:-}" && -f "$TEST_MODELS_DIR/mobilenet_v1_0.25_128_frozen.tgz" ]]; then
		export MODEL_CACHE=$TEST_MODELS_DIR/mobilenet_v1_0.25_128_frozen.tgz
	fi
	scripts/fetch-models.sh
fi
small_only=${PERF_SMALL_ONLY:-}
if [[ -z "$small_only" ]]; then
	f=${1:-}
	if [[ -z "$f" ]]; then
		f=$tmp/photo.jpg
		JPEG_BENCH_MAKE=$f go test -count=1 -run TestMakeBenchFile ./imageprep/jpeg >/dev/null
	fi
	echo "== $f: $(stat -c %s "$f") bytes ($(nproc) CPUs, $(go version | cut -d' ' -f3), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"

	echo "== decoder alone (scripts/perf-jpeg.sh)"
	scripts/perf-jpeg.sh "$f" | tee "$tmp/jpeg.txt"
	tj8=$(awk '$1=="1/8" {print $2}' "$tmp/jpeg.txt")
fi

go build -o "$tmp/classifyd" ./cmd/classifyd
go build -o "$tmp/loadtest" ./cmd/loadtest
port=$(free_port)
addr=127.0.0.1:$port
"$tmp/classifyd" --addr "$addr" >"$tmp/server.log" 2>&1 &
server_pid=$!
wait_ready "$addr" "$tmp/server.log"

if [[ -z "$small_only" ]]; then
	cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
	hz=$(getconf CLK_TCK)

	echo "== /v1/classify, 1 client, 10 s"
	"$tmp/loadtest" -url "http://$addr/v1/classify" -image "$f" -c 1 -d 10s | tee "$tmp/c1.txt" | grep -E '^(requests|latency)'
	p50=$(awk '/^latency/ {print $3}' "$tmp/c1.txt")

	echo "== /v1/classify, 8 clients, 20 s"
	t0=$(cpu_ticks)
	"$tmp/loadtest" -url "http://$addr/v1/classify" -image "$f" -c 8 -d 20s | tee "$tmp/c8.txt" | grep -E '^(requests|latency)'
	t1=$(cpu_ticks)
	n=$(awk '/^requests/ {print $2}' "$tmp/c8.txt")
	cpu_ms=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", d * 1000 / hz / n}')

	echo "== summary (targets from issue 8)"
	printf '%-44s %10s %10s %8s\n' measure ms "tj 1/8 ms" ratio
	printf '%-44s %10s %10s %8s\n' "1 client median latency (want <= 2)" "$p50" "$tj8" "$(awk -v a="$p50" -v b="$tj8" 'BEGIN {printf "%.2f", a/b}')"
	printf '%-44s %10s %10s %8s\n' "8 clients server CPU per request (want <= 2)" "$cpu_ms" "$tj8" "$(awk -v a="$cpu_ms" -v b="$tj8" 'BEGIN {printf "%.2f", a/b}')"
fi

# Small images at 1 client, side by side with a baseline build (issue 8's
# "at least 2x faster than today" rows): the baseline commit's tree is
# exported (git archive, no worktree left behind), built and served with the
# same models; rounds alternate between the two servers so that load from
# elsewhere on the machine falls on both.
#   PERF_BASELINE        commit to compare with (default 78b2db3, before the PNG/JPEG work)
#   PERF_SMALL_IMAGES    files (default coffee.png and grace_hopper.jpg in TEST_IMAGES_DIR)
#   PERF_SMALL_ROUNDS    alternating rounds of 5 s each (default 3)
base=${PERF_BASELINE:-78b2db3}
small=${PERF_SMALL_IMAGES:-}
if [[ -z "$small" && -n "${TEST_IMAGES_DIR:-}" ]]; then
	small="$TEST_IMAGES_DIR/coffee.png $TEST_IMAGES_DIR/grace_hopper.jpg"
fi
if [[ -z "$small" ]]; then
	echo "== small images: skipped (set TEST_IMAGES_DIR or PERF_SMALL_IMAGES)"
	exit 0
fi
echo "== small images at 1 client: this tree vs $base ($(git rev-parse --short "$base"))"
mkdir "$tmp/base"
git archive "$base" | tar -x -C "$tmp/base"
(cd "$tmp/base" && go build -o classifyd ./cmd/classifyd)
mkdir -p "$tmp/base/models/theme"
cp models/theme/* "$tmp/base/models/theme/"
base_port=$(free_port)
base_addr=127.0.0.1:$base_port
new_pid=$server_pid
(cd "$tmp/base" && exec ./classifyd --addr "$base_addr" >"$tmp/base.log" 2>&1) &
server_pid=$!
trap 'kill -TERM "$new_pid" 2>/dev/null || true; cleanup' EXIT
wait_ready "$base_addr" "$tmp/base.log"
rounds=${PERF_SMALL_ROUNDS:-3}
printf '%-24s %-8s %s\n' image server "p50 ms per round"
for img in $small; do
	declare -A p50s=()
	for _ in $(seq "$rounds"); do
		for which in base new; do
			a=$addr
			[[ $which == base ]] && a=$base_addr
			p=$("$tmp/loadtest" -url "http://$a/v1/classify" -image "$img" -c 1 -d 5s | awk '/^latency/ {print $3}')
			p50s[$which]="${p50s[$which]:-} $p"
		done
	done
	med() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
	b=$(med <<<"${p50s[base]}") n=$(med <<<"${p50s[new]}")
	printf '%-24s %-8s %s\n' "$(basename "$img")" "$base" "${p50s[base]}"
	printf '%-24s %-8s %s\n' "" "this" "${p50s[new]}"
	printf '%-24s median of rounds %s vs %s ms: ratio %s (want <= 0.5)\n' "" "$b" "$n" "$(awk -v a="$n" -v b="$b" 'BEGIN {printf "%.2f", a/b}')"
	unset p50s
done

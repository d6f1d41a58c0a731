#!/usr/bin/env bash
# Speed side by side, in one run on this machine (issues 2 and 10, "Done
# when"): the pure-Go engine (`classify bench`) against ONNX Runtime with its
# MLAS kernels (../shared/oracle/ort) and, on MobileNet v1, TensorFlow.js on
# XNNPACK/wasm (../shared/oracle/bench). Workloads: MobileNet v1 0.25/128
# batch 1, the eight-convolution stack of cmd/benchgraph, and cmd/benchgraph's
# random-weight ResNet-50 v1 (224), Inception v3 (299) and MobileNet v2 1.0
# (224) at batch 1 and 8; each at 1 and 2 threads. Before timing, every
# network's logits from both engines are compared (max |go-ort| / max |ort|
# at most TOL, default 1e-5); a disagreement stops the script. The engines
# take turns (A B A B ..., the order reversed every round) so that the noise
# of a shared machine falls on all of them alike; each figure is the median
# over ROUNDS rounds of the per-round median of RUNS runs (NET_RUNS for the
# real-size networks).
#
#   scripts/perf.sh                              # RUNS=50 NET_RUNS=10 ROUNDS=3 THREADS="1 2", ~15 min
#   RUNS=20 NET_RUNS=5 ROUNDS=1 scripts/perf.sh  # quicker, noisier
#   NETS="resnet50" BATCHES=1 scripts/perf.sh    # a subset ("" for none)
#   RUN_PREFIX="chrt -f 1" scripts/perf.sh       # timed runs preempt other work (root; shared machines)
#   SEED=7 scripts/perf.sh                       # the same networks with weights not seen before
#
# Prints markdown tables (for the README's performance section) and then
# the raw lines each tool printed. Needs go, node and npm. The oracle is
# ORACLE_DIR (default ../shared/oracle next to the repository), the graphs
# TEST_MODELS_DIR (default ../shared/models).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
oracle="${ORACLE_DIR:-$root/../shared/oracle}"
models="${TEST_MODELS_DIR:-$root/../shared/models}"
runs="${RUNS:-50}"
net_runs="${NET_RUNS:-10}"
rounds="${ROUNDS:-3}"
threads="${THREADS:-1 2}"
nets="${NETS-resnet50 inception_v3 mobilenet_v2}"
batches="${BATCHES:-1 8}"
tol="${TOL:-1e-5}"
# SEED (benchgraph -seed) gives the real-size networks other random
# weights: 0, the default, is the weights of record.
seed="${SEED:-0}"
# A command every timed run is started under, e.g. "chrt -f 1": on a machine
# other work is using, a real-time policy gives the engines the cores for
# the seconds a measurement takes (the kernel still leaves others 5%).
read -r -a prefix <<<"${RUN_PREFIX:-}"

mobilenet="$models/mobilenet_v1_0.25_128/frozen_graph.pb"
mn_in="$root/testdata/models/mobilenet/input/grace_hopper.npy"
mn_out="MobilenetV1/Predictions/Reshape_1"
for f in "$mobilenet" "$mn_in" "$oracle/bench" "$oracle/ort"; do
	if [[ ! -e "$f" ]]; then
		echo "perf.sh: $f not found (set TEST_MODELS_DIR and ORACLE_DIR)" >&2
		exit 2
	fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
echo "perf.sh: building classify and the benchmark graphs" >&2
go build -o "$work/classify" ./cmd/classify
go build -o "$work/benchgraph" ./cmd/benchgraph
"$work/benchgraph" -out "$work" -nets "$(echo convstack $nets | tr ' ' ,)" -batches "${batches// /,}" -seed "$seed" >/dev/null
stack="$work/convstack.pb"
st_in="$work/convstack_input.npy"
netjobs=()
for n in $nets; do
	for b in $batches; do
		netjobs+=("${n}_b$b")
	done
done

# measure WORKLOAD THREADS ENGINE COMMAND...: runs one benchmark and appends
# "workload threads engine ms flops" to $work/results and its line to $work/raw.
measure() {
	local w=$1 t=$2 e=$3
	shift 3
	local out
	if ! out="$("$@" 2>"$work/stderr")"; then
		echo "perf.sh: $e on $w (threads $t) failed:" >&2
		cat "$work/stderr" >&2
		exit 1
	fi
	local line
	line="$(grep 'ms/run=' <<<"$out" | tail -n 1)"
	if [[ -z "$line" ]]; then
		echo "perf.sh: $e on $w printed no ms/run:" >&2
		echo "$out" >&2
		exit 1
	fi
	echo "$w threads=$t: $line" >>"$work/raw"
	echo "  $w threads=$t: $line" >&2
	awk -v w="$w" -v t="$t" -v e="$e" '{
		ms = ""; fl = 0
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^ms\/run=/) { ms = substr($i, 8) }
			if ($i ~ /^flops=/) { fl = substr($i, 7) }
		}
		print w, t, e, ms, fl
	}' <<<"$line" >>"$work/results"
}

go_bench() { # GRAPH INPUT OUTPUT THREADS [RUNS [WARMUP]]
	"${prefix[@]}" "$work/classify" bench --graph "$1" --input "input=$2" --output "$3" --runs "${5:-$runs}" --warmup "${6:-5}" --threads "$4"
}
ort_bench() { # GRAPH INPUT OUTPUT THREADS [RUNS]
	"${prefix[@]}" "$oracle/ort" "$1" --input "input=$2" --output "$3" --runs "${5:-$runs}" --threads "$4"
}

# Agreement first: the timings below mean nothing for a wrong answer.
for w in "${netjobs[@]}"; do
	"$work/classify" run --graph "$work/$w.pb" --input "input=$work/${w}_input.npy" --output logits --outdir "$work/go_$w" >/dev/null
	"$oracle/ort" "$work/$w.pb" --input "input=$work/${w}_input.npy" --output logits --out "$work/ort_$w.npy" >/dev/null
	if ! line="$("$work/benchgraph" -compare "$work/go_$w/logits.npy,$work/ort_$w.npy" -tol "$tol" 2>&1)"; then
		echo "perf.sh: $w: gotf and ONNX Runtime disagree: $line" >&2
		exit 1
	fi
	echo "$w logits: $line" >>"$work/agree"
	echo "  $w logits: $line" >&2
	rm -rf "$work/go_$w" "$work/ort_$w.npy"
done

for ((r = 1; r <= rounds; r++)); do
	echo "perf.sh: round $r of $rounds" >&2
	jobs=(go wasm ort go_stack ort_stack)
	for w in "${netjobs[@]}"; do
		jobs+=("go:$w" "ort:$w")
	done
	if ((r % 2 == 0)); then
		for ((i = 0, j = ${#jobs[@]} - 1; i < j; i++, j--)); do
			tmp="${jobs[i]}"
			jobs[i]="${jobs[j]}"
			jobs[j]="$tmp"
		done
	fi
	for t in $threads; do
		for j in "${jobs[@]}"; do
			case $j in
			go) measure mobilenet "$t" go go_bench "$mobilenet" "$mn_in" "$mn_out" "$t" ;;
			wasm) measure mobilenet "$t" wasm "${prefix[@]}" "$oracle/bench" "$mobilenet" --backend wasm --runs "$runs" --feed "input=$mn_in" --fetch "$mn_out" ;;
			ort) measure mobilenet "$t" ort ort_bench "$mobilenet" "$mn_in" "$mn_out" "$t" ;;
			go_stack) measure convstack "$t" go go_bench "$stack" "$st_in" output "$t" ;;
			ort_stack) measure convstack "$t" ort ort_bench "$stack" "$st_in" output "$t" ;;
			go:*) measure "${j#go:}" "$t" go go_bench "$work/${j#go:}.pb" "$work/${j#go:}_input.npy" output "$t" "$net_runs" 3 ;;
			ort:*) measure "${j#ort:}" "$t" ort ort_bench "$work/${j#ort:}.pb" "$work/${j#ort:}_input.npy" output "$t" "$net_runs" ;;
			esac
		done
	done
done

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
isa="$(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -e avx512f -e avx2 -e fma | sort -u | tr '\n' ' ')"
echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores of ${cpu:-an unknown CPU} (${isa% }), $(go version | cut -d' ' -f3), with \`scripts/perf.sh\` (RUNS=$runs NET_RUNS=$net_runs ROUNDS=$rounds${RUN_PREFIX:+ RUN_PREFIX=\"$RUN_PREFIX\"}$( [[ $seed != 0 ]] && echo " SEED=$seed")): median ms per run (one run is one batch)."
echo
awk -v threads="$threads" '
function median(key,   n, i, j, v, tmp) {
	n = split(vals[key], v, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
	return n ? v[int((n + 1) / 2)] : ""
}
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "–" : sprintf("%.2f", a / b) }
function gfl(f, ms) { return (f + 0 > 0 && ms != "") ? sprintf("%.1f", f / ms / 1e6) : "?" }
# The verdict is on the unrounded ratio a / b: 0.903 shows as 0.90 but misses "at most 0.9".
function verdict(a, b, op, want,   x) {
	if (a == "" || b == "" || b + 0 == 0) return ""
	x = a / b
	return ((op == ">=" && x >= want) || (op == "<=" && x <= want) || (op == "<" && x < want)) ? " ✓" : " ✗"
}
function label(w,   b) {
	if (w == "mobilenet") return "MobileNet v1 0.25/128"
	if (w == "convstack") return "8 x conv 3x3 56x56x64"
	b = w; sub(/.*_b/, "", b); sub(/_b[0-9]+$/, "", w)
	w = (w == "resnet50") ? "ResNet-50 v1 224" : (w == "inception_v3") ? "Inception v3 299" : (w == "mobilenet_v2") ? "MobileNet v2 1.0 224" : w
	return w ", batch " b
}
{
	key = $1 " " $2 " " $3
	vals[key] = vals[key] " " $4
	if ($5 + 0 > 0) flops[$1] = $5
	if (!seen[$1]++) order[++n] = $1
}
END {
	nt = split(threads, ts, " ")
	print "| workload | threads | gotf ms | gotf GFLOP/s | ONNX Runtime ms | ORT GFLOP/s | TF.js wasm ms | gotf ÷ ORT time (want ≤ 0.9; MobileNet v1 < 1) |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		w = order[i]
		for (q = 1; q <= nt; q++) {
			t = ts[q]
			g = median(w " " t " go"); a = median(w " " t " wasm"); o = median(w " " t " ort")
			vt = ratio(g, o)
			printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", label(w), t, g, gfl(flops[w], g), o, gfl(flops[w], o), \
				(a == "" ? "–" : a), vt verdict(g, o, (w == "mobilenet") ? "<" : "<=", (w == "mobilenet") ? 1 : 0.9)
		}
	}
	if (nt >= 2) {
		t1 = ts[1]; t2 = ts[nt]
		print ""
		printf "| workload | gotf %s → %s threads (want ≥ 1.7) | ONNX Runtime %s → %s threads |\n", t1, t2, t1, t2
		print "| --- | ---: | ---: |"
		for (i = 1; i <= n; i++) {
			w = order[i]
			g1 = median(w " " t1 " go"); g2 = median(w " " t2 " go")
			sg = ratio(g1, g2)
			so = ratio(median(w " " t1 " ort"), median(w " " t2 " ort"))
			printf "| %s | %s | %s |\n", label(w), sg (w == "mobilenet" || w == "convstack" ? "" : verdict(g1, g2, ">=", 1.7)), so
		}
	}
}' "$work/results"
echo
echo "GFLOP/s use the FLOPs \`classify show\` reports for the graph (2 per multiply-add), for every engine alike. TensorFlow.js's wasm backend has no thread setting here: it runs single-threaded at both thread counts. ONNX Runtime runs with --threads T (intra-op threads); classify bench --threads T also sets GOMAXPROCS=T."
if [[ -s "$work/agree" ]]; then
	echo
	echo "Agreement of the logits with ONNX Runtime before timing:"
	echo
	echo '```'
	cat "$work/agree"
	echo '```'
fi
echo
echo '```'
cat "$work/raw"
echo '```'

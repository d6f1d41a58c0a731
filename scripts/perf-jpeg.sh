#!/bin/sh
# perf-jpeg.sh: libjpeg-turbo (tjbench) against imageprep/jpeg on the same
# 4032x3024 quality-90 4:2:0 photo-like JPEG, at 1/1 and 1/8, in one run so
# the ratio is measured under the same load. The last line is a
# /v1/classify plan (DecodeRegions: an 80 % crop at 1/8 and a 9x9 patch at
# full resolution in one pass), set against tjbench's 1/8 decode of the
# whole image. Needs libjpeg-turbo-progs.
#
#	scripts/perf-jpeg.sh [file.jpg]
set -eu
cd "$(dirname "$0")/.."
f=${1:-}
if [ -z "$f" ]; then
	f=$(mktemp /tmp/perf-jpeg-XXXXXX.jpg)
	trap 'rm -f "$f"' EXIT
	JPEG_BENCH_MAKE=$f go test -count=1 -run TestMakeBenchFile ./imageprep/jpeg >/dev/null
fi
pixels=$(djpeg -ppm "$f" | head -c 64 | awk 'NR==2 {print $1*$2; exit}')

# tjbench -quiet prints Decomp Perf in megapixels per second of the full image.
tj() { tjbench "$f" "$@" -benchtime 3 -warmup 1 -quiet 2>/dev/null | awk -v p="$pixels" 'NF>=8 && $1=="BGR" {printf "%.1f", p/$NF/1000}'; }
tj1=$(tj)
tj8=$(tj -scale 1/8)

ours() { JPEG_BENCH_FILE=$f go test -count=1 -run '^$' -bench "$1" -benchtime 3s ./imageprep/jpeg | awk '/ns\/op/ {printf "%.1f", $3/1e6}'; }
go1=$(ours 'Decode/.*/1_1$')
go8=$(ours 'Decode/.*/1_8$')
gor=$(ours 'DecodeRegions/.*/theme\+color$')

printf '%-8s %14s %14s %8s\n' scale "tjbench ms" "ours ms" ratio
printf '%-8s %14s %14s %8s\n' 1/1 "$tj1" "$go1" "$(echo "$go1 $tj1" | awk '{printf "%.2f", $1/$2}')"
printf '%-8s %14s %14s %8s\n' 1/8 "$tj8" "$go8" "$(echo "$go8 $tj8" | awk '{printf "%.2f", $1/$2}')"
printf '%-8s %14s %14s %8s\n' regions "$tj8" "$gor" "$(echo "$gor $tj8" | awk '{printf "%.2f", $1/$2}')"

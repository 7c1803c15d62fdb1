#!/usr/bin/env bash
# Train the default generator (synthface-128) on a lent GPU machine in about 9 minutes and
# leave the exported weights in $OUT, split into pieces the device tool brings back.
#
# What it does, from the repo root of a bare machine (python3 with torch, numpy, pillow,
# safetensors and tqdm; ffedit is not installed, so it runs as PYTHONPATH=backend python3 -m
# ffedit.cli):
#   1. checks the imports and prints the GPU;
#   2. `ffedit train-generator` builds the teacher data (DATA_WORKERS processes on the CPU)
#      and, warm-restarted from INIT_FROM, trains for WARMUP_MINUTES to measure the step rate;
#   3. resumes that run with --steps set so that the cosine learning-rate schedule ends just
#      inside the time left (TOTAL_MINUTES minus RESERVE_MINUTES for the super-resolution fit
#      and the export), --max-minutes guarding it, then fits the super-resolution head and
#      exports;
#   4. writes to $OUT: weights.safetensors.part00, .part01 (split -b 15M), config.json,
#      manifest.json, weights.safetensors.sha256, summary.txt, train.log (7 files).
# Reassemble and verify here with scripts/gpu-fetch-weights.sh FILES_AT [runs/gpu-export].
#
# Through the device tool (one call; timeout_s 600 leaves about a minute of slack; the
# machine's start adds 1-2 minutes, so a call costs about 11 of a task's 15 device minutes;
# call give_back right after it):
#   run(command="bash scripts/gpu-train-generator.sh", timeout_s=600)
# Settings are env vars, e.g. run(command="BATCH=64 LR=3e-3 bash scripts/gpu-train-generator.sh").
# To continue from an earlier GPU export (runs/ is git-ignored, so it must be carried):
#   run(command="INIT_FROM=runs/gpu-export bash scripts/gpu-train-generator.sh",
#       carry=["runs/gpu-export"], timeout_s=600)
# The 9 minutes are planned, not yet measured on the GPU: teacher data (64 shards, 14
# workers) about 1 min, warm-up 0.5 min, training what is left, RESERVE_MINUTES 1.5 for the
# second process's start, the super-resolution fit (64 teacher renders at 256² on the CPU)
# and the export. summary.txt records the measured rate and steps; if "steps reached" falls
# short of the planned steps, raise RESERVE_MINUTES next time.
#
# Settings (defaults in brackets):
#   DEVICE [cuda]  BATCH [32]  LR [4e-3]  ENTRIES [1024]  DATA_WORKERS [14]
#   INIT_FROM [models/synthface-128] (warm restart; e.g. runs/gpu-export to continue)
#   TOTAL_MINUTES [9]  WARMUP_MINUTES [0.5]  RESERVE_MINUTES [1.5]
#   STEPS [measured]: a fixed step count instead of the measured one (no warm-up training)
#   SUPERRES_STEPS [400]  SUPERRES_FACES [64]  SAVE_EVERY [500]
#   RUN [runs/gpu-train]: run folder; its teacher data is reused, its training state is not
#     (a rerun starts again from INIT_FROM) unless RESUME=1 (needs STEPS: the same steps
#     continue the same cosine)
#   PYTHON [python3]  EXTRA_ARGS: more train-generator flags (e.g. --compile)  OUT (required)
# Test here on CPU in well under a minute: scripts/test-gpu-train-generator.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder that comes back (the device tool sets it)}"
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-32}
LR=${LR:-4e-3}
ENTRIES=${ENTRIES:-1024}
DATA_WORKERS=${DATA_WORKERS:-14}
INIT_FROM=${INIT_FROM:-models/synthface-128}
TOTAL_MINUTES=${TOTAL_MINUTES:-9}
WARMUP_MINUTES=${WARMUP_MINUTES:-0.5}
RESERVE_MINUTES=${RESERVE_MINUTES:-1.5}
STEPS=${STEPS:-}
SUPERRES_STEPS=${SUPERRES_STEPS:-400}
SUPERRES_FACES=${SUPERRES_FACES:-64}
SAVE_EVERY=${SAVE_EVERY:-500}
RUN=${RUN:-runs/gpu-train}
RESUME=${RESUME:-0}
PY=${PYTHON:-python3}
read -ra EXTRA <<<"${EXTRA_ARGS:-}"
export PYTHONPATH="backend${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

START=$(date +%s)
elapsed() { echo $(($(date +%s) - START)); }
calc() { "$PY" -c "import math; print($1)"; }
train() {
  "$PY" -m ffedit.cli train-generator --run "$RUN" --init-from "$INIT_FROM" \
    --entries "$ENTRIES" --data-workers "$DATA_WORKERS" --batch-size "$BATCH" \
    --learning-rate "$LR" --device "$DEVICE" --save-every "$SAVE_EVERY" "${EXTRA[@]}" "$@"
}
state_step() {
  "$PY" -c "import torch; print(torch.load('$RUN/train-state.pt', map_location='cpu', weights_only=True)['step'])"
}

main() {
  echo "== $(date -u +%FT%TZ) ffedit GPU training: device $DEVICE, batch $BATCH, lr $LR," \
    "$ENTRIES entries, init from $INIT_FROM, $TOTAL_MINUTES min in all"
  "$PY" - <<'EOF'
import numpy, PIL, safetensors, torch, tqdm  # all that train-generator needs
import ffedit.cli.train  # noqa: F401
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
print(f"torch {torch.__version__}, numpy {numpy.__version__}, pillow {PIL.__version__}, "
      f"safetensors {safetensors.__version__}, tqdm {tqdm.__version__}; {gpu}")
EOF
  mkdir -p "$RUN"
  rm -rf "$RUN/export"
  if [[ $RESUME == 1 ]]; then
    [[ -n $STEPS ]] || { echo "RESUME=1 needs STEPS (the run's total)" >&2; return 2; }
  else
    rm -f "$RUN/train-state.pt"  # teacher data in $RUN/data is kept and reused
  fi

  if [[ -z $STEPS ]]; then
    echo "== teacher data, then $WARMUP_MINUTES min of training to measure the step rate"
    # --steps far beyond the warm-up: its learning rate stays at the peak, as the first
    # steps of the cosine below have it (the schedule is recomputed from --steps on resume)
    train --steps 1000000 --max-minutes "$WARMUP_MINUTES"
    warm=$(state_step)
    rate=$(calc "$warm / (60 * $WARMUP_MINUTES)")
    left=$(calc "max(0, 60 * ($TOTAL_MINUTES - $RESERVE_MINUTES) - $(elapsed))")
    total=$(calc "$warm + math.floor(0.95 * $rate * $left)")  # 5 % slack for the schedule
    echo "== warm-up: $warm steps in $WARMUP_MINUTES min ($rate steps/s); $left s left" \
      "for training: --steps $total"
  else
    echo "== teacher data (no warm-up: STEPS=$STEPS)"
    train --steps 0
    warm=$(state_step) rate="" total=$STEPS
    left=$(calc "max(0, 60 * ($TOTAL_MINUTES - $RESERVE_MINUTES) - $(elapsed))")
    echo "== $left s left for training: --steps $total (from step $warm)"
  fi

  train_start=$(elapsed)
  train --steps "$total" --max-minutes "$(calc "$left / 60")" --export "$RUN/export" \
    --superres-steps "$SUPERRES_STEPS" --superres-faces "$SUPERRES_FACES"
  reached=$(state_step)

  (cd "$RUN/export" && sha256sum weights.safetensors >weights.safetensors.sha256)
  split -b 15M -d "$RUN/export/weights.safetensors" "$OUT/weights.safetensors.part"
  cp "$RUN/export/config.json" "$RUN/export/manifest.json" \
    "$RUN/export/weights.safetensors.sha256" "$OUT/"
  cat >"$OUT/summary.txt" <<EOF
date: $(date -u +%FT%TZ)
command: DEVICE=$DEVICE BATCH=$BATCH LR=$LR ENTRIES=$ENTRIES INIT_FROM=$INIT_FROM TOTAL_MINUTES=$TOTAL_MINUTES WARMUP_MINUTES=$WARMUP_MINUTES RESERVE_MINUTES=$RESERVE_MINUTES STEPS=$STEPS SUPERRES_STEPS=$SUPERRES_STEPS SUPERRES_FACES=$SUPERRES_FACES EXTRA_ARGS=${EXTRA_ARGS:-} scripts/gpu-train-generator.sh
warm-up steps: $warm
measured rate (steps/s): ${rate:-not measured}
planned steps (cosine length): $total
steps reached: $reached
training + super-resolution + export (s): $(($(elapsed) - train_start))
wall time (s): $(elapsed)
EOF
  cat "$OUT/summary.txt"
  [[ $reached -ge $total ]] || echo "note: --max-minutes stopped training at step $reached" \
    "of $total: the cosine did not finish (raise RESERVE_MINUTES or set STEPS lower)"
  ls -l "$OUT"
}

mkdir -p "$OUT"
main 2>&1 | tee "$OUT/train.log"

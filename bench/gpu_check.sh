#!/usr/bin/env bash
# The one prepared GPU check (docs/benchmarks.md), under 5 minutes on a machine with a CUDA device:
#   1. bench/train.py at 64 and 32 px, both loops in the same run on the same card: our trainer with
#      the studio's defaults (loss, penalties, adaptive augmentation, EMA; bf16, torch.compile, uint8
#      cache on the device) against the pytorch/examples reference loop (the paper's networks, files
#      through a DataLoader, fp32);
#   2. a 2,000-step 64 px training on generated data (shapes on backgrounds), SWD every 500 steps;
# then prints one markdown table to paste into docs/benchmarks.md (also saved in $OUT_DIR).
#
#   bash bench/gpu_check.sh             on a CUDA machine (refuses cleanly, exit 2, without one)
#   bash bench/gpu_check.sh --dry-run   print the plan, run nothing
#   bash bench/gpu_check.sh --smoke     the same steps, tiny, on the CPU (checks the script itself)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
MODE=${1:-full}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t gpu-check-XXXXXX)}
mkdir -p "$OUT_DIR"

if [ "$MODE" = "--smoke" ]; then  # every step of the real check, sized for a CPU
  DEVICE=cpu; RES="32"; BENCH_ARGS="--steps 2 --images 64 --batch 8 --ceiling-batches 2 --workers 0"
  TRAIN_STEPS=20; TRAIN_BATCH=8; IMAGES=64; WIDTH=8; LIMIT_BENCH=600; LIMIT_TRAIN=600
else
  DEVICE=cuda; RES="64 32"; BENCH_ARGS="--steps 30 --our-batch 1024 --images 2048 --workers 4"
  TRAIN_STEPS=2000; TRAIN_BATCH=256; IMAGES=4096; WIDTH=64; LIMIT_BENCH=170; LIMIT_TRAIN=110
fi
BENCH="$PY bench/train.py --device $DEVICE --resolution $RES $BENCH_ARGS"

if [ "$MODE" = "--dry-run" ]; then
  echo "gpu_check plan (nothing run):"
  echo "  1. $BENCH   (limit ${LIMIT_BENCH}s)"
  echo "  2. $TRAIN_STEPS-step 64 px training on $IMAGES generated images, batch $TRAIN_BATCH, SWD every $((TRAIN_STEPS / 4)) steps (limit ${LIMIT_TRAIN}s)"
  echo "  3. one markdown table for docs/benchmarks.md, also in \$OUT_DIR/table.md"
  exit 0
fi
case "$MODE" in full|--smoke) ;; *) echo "gpu_check: unknown option $MODE (use --dry-run or --smoke)" >&2; exit 2;; esac

if [ "$DEVICE" = cuda ] && ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: no CUDA device here (torch.cuda.is_available() is False); nothing measured" >&2
  exit 2
fi
MACHINE=$("$PY" -c "import torch; print(torch.cuda.get_device_name(0) if '$DEVICE' == 'cuda' else 'cpu (smoke)')")
T0=$(date +%s)

set +e  # a step that overruns its limit still leaves the others' rows in the table
# --- 1. throughput against the reference loop --------------------------------------------------
timeout "$LIMIT_BENCH" $BENCH | tee "$OUT_DIR/train_bench.txt"
[ "${PIPESTATUS[0]}" = 0 ] || echo "gpu_check: step 1 ended early (limit ${LIMIT_BENCH}s); rows may be missing" >&2

# --- 2. a 2,000-step training with SWD on generated data ------------------------------------------
timeout "$LIMIT_TRAIN" "$PY" - "$OUT_DIR" "$DEVICE" "$TRAIN_STEPS" "$TRAIN_BATCH" "$IMAGES" "$WIDTH" <<'EOF' | tee "$OUT_DIR/swd_run.txt"
import sys, time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, ".")
from gan.config import TrainConfig
from gan.train import train

out, device, steps, batch, n, width = Path(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:])
data = out / "shapes"
data.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
for i in range(n):  # a shape on a background: a distribution with structure, learnable in minutes
    im = Image.new("RGB", (64, 64), tuple(int(c) for c in rng.integers(0, 256, 3)))
    x, y, s = (int(v) for v in rng.integers(4, 30, 3))
    (ImageDraw.Draw(im).ellipse if i % 2 else ImageDraw.Draw(im).rectangle)(
        [x, y, x + 12 + s, y + 12 + s], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    im.save(data / f"{i:05d}.png")
swd, rates = {}, []


def progress(e):
    if e["event"] == "metric" and "swd" in e:
        swd[e["step"]] = e["swd"]
    elif e["event"] == "step":
        rates.append(e["img_per_s"])


cfg = TrainConfig(resolution=64, steps=steps, batch=batch, device=device, g_width=width, d_width=width,
                  log_every=max(1, steps // 10), sample_every=steps, ckpt_every=steps,
                  metric_every=max(1, steps // 4), metric_images=min(2048, n), augment="translation,cutout,color")
t0 = time.perf_counter()
train(cfg, data, out / "run", on_progress=progress, log=lambda m: None)
wall = time.perf_counter() - t0
first, last = swd[min(swd)], swd[max(swd)]
steady = rates[1:] or rates
print(f"swd_run steps={steps} batch={batch} img_s={sum(steady) / len(steady):.0f} wall_s={wall:.0f} "
      f"swd_first={first:.2f}@{min(swd)} swd_last={last:.2f}@{max(swd)}")
EOF
[ "${PIPESTATUS[0]}" = 0 ] || echo "gpu_check: step 2 ended early (limit ${LIMIT_TRAIN}s); its row may be missing" >&2
set -e

# --- 3. one table --------------------------------------------------------------------------------
{
  echo "| machine | check | px | batch | img/s | data ms/step | compute ms/step | notes |"
  echo "|---|---|---|---|---|---|---|---|"
  awk -v m="$MACHINE" '
    $1 == "reference" || $1 == "ours" {
      note = ($1 == "ours") ? "studio defaults, bf16, compile, data on device" : "pytorch/examples: files via DataLoader, fp32"
      printf "| %s | %s loop | %s | %s | %s | %s | %s | %s |\n", m, $1, $2, $3, $4, $5, $6, note }
    $1 == "ratio" { printf "| %s | ours / reference | %s | | **%s** | | | |\n", m, $2, $3 }
  ' "$OUT_DIR/train_bench.txt"
  sed -n 's/^swd_run //p' "$OUT_DIR/swd_run.txt" | tr ' ' '\n' | awk -F= -v m="$MACHINE" '
    { v[$1] = $2 }
    END { printf "| %s | %s-step training, generated shapes | 64 | %s | %s | | | SWD %s → %s, %s s |\n",
          m, v["steps"], v["batch"], v["img_s"], v["swd_first"], v["swd_last"], v["wall_s"] }'
  echo
  echo "gpu_check took $(( $(date +%s) - T0 )) s on $MACHINE ($(date -u +%Y-%m-%d))."
} | tee "$OUT_DIR/table.md"

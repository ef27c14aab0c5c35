#!/usr/bin/env bash
# Train the 64-px generator and its encoder on a lent GPU machine in one device call, from the
# faces packed by tools/gpu_faces.py, and return the model (float16, in parts of 15 MiB: a
# returned file may have 16) with the run's metrics, the snapshots' scores and the chosen
# snapshot's samples. MODEL_CARD.md "Training on a lent GPU".
#
#   bash tools/gpu_generator.sh [G_SECONDS] [ENCODER_STEPS]     (on the device: OUT is set there)
#
# Environment: FACES (default gpu/faces), HELDOUT (the held-out faces, default gpu/heldout),
# DEVICE (cuda), INIT (a model file to start G and D from; default none: from scratch; `ganfill
# export --half --no-encoder` makes one of G and D alone, 18 MiB), ENCODER_FROM (a model file whose
# encoder to continue; default none: the encoder trained from scratch for the new generator),
# BATCH (G and D's batch, default 64: the bundled generator's), SHORTEN (train's --shorten; default
# none: the prior's codes alone), OUT (results; default runs/gpu).
set -euo pipefail
g_seconds=${1:-360}
encoder_steps=${2:-3000}
faces=${FACES:-gpu/faces}
heldout=${HELDOUT:-gpu/heldout}
device=${DEVICE:-cuda}
batch=${BATCH:-64}
out=${OUT:-runs/gpu}
encoder_from=${ENCODER_FROM:-}
[ "$encoder_from" != none ] || encoder_from=
run=$(mktemp -d)/run
split=src/ganfill/splits/heldout.txt
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$out"

# G and D until the time is up: SIGTERM stops training with a checkpoint (exit 124 from timeout)
status=0
timeout -s TERM "$g_seconds" python3 -m ganfill train "$faces" --out "$run" --device "$device" --amp \
    --batch-size "$batch" --g-steps 1 --epochs 100000 --exclude-file "$split" --sample-every 1000 \
    --checkpoint-every 1000 --keep-checkpoints 1000 --log-every 50 --workers 8 --no-progress \
    ${INIT:+--init-from "$INIT"} ${SHORTEN:+--shorten "$SHORTEN"} || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 124 ] || exit "$status"
# A GAN can get worse late in a run, and there is one call: up to 6 snapshots spread over the run
# (the last included) are scored against the held-out faces (SWD of patches; dlib is not there)
# and the lowest is exported.
python3 - "$run" "$heldout" "$out/snapshots.jsonl" <<'PY'
import sys
from pathlib import Path
from ganfill.config import ModelEvalConfig
from ganfill.model_eval import evaluate_models, markdown
run = Path(sys.argv[1])
snapshots = sorted(run.glob("checkpoints/step_*.safetensors"))
if not snapshots:
    sys.exit(f"{run}: no snapshot; training stopped before its first checkpoint (more G_SECONDS)")
spread = sorted({snapshots[round(i * (len(snapshots) - 1) / 5)] for i in range(6)})
scores = evaluate_models(spread, sys.argv[2], ModelEvalConfig(faces=False), out=sys.argv[3])
print(markdown(scores))
(run / "best.txt").write_text(min(scores, key=lambda s: s.swd).model)
PY
best=$(cat "$run/best.txt")
echo "exporting $best"
python3 -m ganfill export "$best" "$run/gan.safetensors"
python3 -m ganfill train-encoder "$run/gan.safetensors" --out "$run/full.safetensors" --data "$faces" \
    --exclude-file "$split" --device "$device" --amp --steps "$encoder_steps" --batch-size 256 \
    --hole-weight 1.0 --no-progress ${encoder_from:+--encoder-from "$encoder_from"}
python3 - "$run/full.safetensors" "$out/faces64.safetensors" <<'EOF'
import sys
from ganfill.checkpoint import load_model, save_model
save_model(sys.argv[2], load_model(sys.argv[1]), half=True)
EOF
# a returned file may have 16 MiB: the model goes back in parts (cat them in order here)
(cd "$out" && sha256sum faces64.safetensors && split -b 15M -d faces64.safetensors faces64.part && rm faces64.safetensors)
cp "$run/metrics.csv" "$out/"
python3 -m ganfill sample "$run/gan.safetensors" --out "$out/samples.png" --seed 1
ls -l "$out"

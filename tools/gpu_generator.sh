#!/usr/bin/env bash
# Train the 64-px generator and its encoder on a lent GPU machine in one device call, from the
# faces packed by tools/gpu_faces.py, and return the model (float16, in parts of 15 MiB: a
# returned file may have 16) with the run's metrics and last samples. MODEL_CARD.md "Training on a lent GPU".
#
#   bash tools/gpu_generator.sh [G_SECONDS] [ENCODER_STEPS]     (on the device: OUT is set there)
#
# Environment: FACES (default gpu/faces), DEVICE (cuda), INIT (a model file with an encoder to
# start G, D and the encoder from; default none: from scratch), OUT (results; default runs/gpu).
set -euo pipefail
g_seconds=${1:-360}
encoder_steps=${2:-3000}
faces=${FACES:-gpu/faces}
device=${DEVICE:-cuda}
out=${OUT:-runs/gpu}
run=$(mktemp -d)/run
split=src/ganfill/splits/heldout.txt
export PYTHONPATH=src PYTHONUNBUFFERED=1
mkdir -p "$out"

# G and D until the time is up: SIGTERM stops training with a checkpoint (exit 124 from timeout)
status=0
timeout -s TERM "$g_seconds" python3 -m ganfill train "$faces" --out "$run" --device "$device" --amp \
    --batch-size 256 --g-steps 1 --epochs 100000 --exclude-file "$split" --sample-every 1000 \
    --checkpoint-every 1000 --keep-checkpoints 1 --log-every 50 --workers 8 --no-progress \
    ${INIT:+--init-from "$INIT"} || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 124 ] || exit "$status"
python3 -m ganfill export "$run" "$run/gan.safetensors"
python3 -m ganfill train-encoder "$run/gan.safetensors" --out "$run/full.safetensors" --data "$faces" \
    --exclude-file "$split" --device "$device" --amp --steps "$encoder_steps" --batch-size 256 \
    --hole-weight 1.0 --no-progress ${INIT:+--encoder-from "$INIT"}
python3 - "$run/full.safetensors" "$out/faces64.safetensors" <<'EOF'
import sys
from ganfill.checkpoint import load_model, save_model
save_model(sys.argv[2], load_model(sys.argv[1]), half=True)
EOF
# a returned file may have 16 MiB: the model goes back in parts (cat them in order here)
(cd "$out" && sha256sum faces64.safetensors && split -b 15M -d faces64.safetensors faces64.part && rm faces64.safetensors)
cp "$run/metrics.csv" "$out/"
latest=$(ls "$run/samples" | sort -t_ -k2 -n | tail -1)
cp "$run/samples/$latest" "$out/samples.png"
ls -l "$out"

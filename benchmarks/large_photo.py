"""A large photo against the 64-px path, side by side: seconds and peak memory of completing the
mouth of a face of F px in a W x H photo (`Completer.complete_photo`, with and without the
exemplar library, whose first use reads it, and with pivotal tuning forced: this mask is narrow
in the face's frame, where the default does not tune), and of completing the same face already
aligned at 64x64 (`Completer.complete`), each in a fresh process, rounds alternating. `--past
WxH` grows the mask W px right and H px down from the mouth's top right corner, past the face,
where Telea's inpainting fills it (photos.py).

    python benchmarks/large_photo.py [--size 4000x3000] [--face 1000] [--rounds 3] [--past 1500x600]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from machine import describe_machine

from ganfill.schedule import TUNE_STEPS

HERE = Path(__file__).resolve().parent


def child(kind: str, width: int, height: int, face_px: int, past: tuple[int, int] = (0, 0)) -> None:
    """Run one completion in this process and print its seconds and peak RSS as JSON."""
    import io

    import numpy as np
    from PIL import Image
    from server_load import photo

    from ganfill.completion import Completer
    from ganfill.images import mask_to_known

    completer = Completer.from_pretrained()
    image_bytes, mask_bytes = photo(width, height, face_px)
    image = Image.open(io.BytesIO(image_bytes))
    image.load()
    known = mask_to_known(Image.open(io.BytesIO(mask_bytes)), image.size, what="mask")
    ys, xs = np.nonzero(known == 0)
    known[ys.min() : ys.min() + past[1], xs.max() : xs.max() + past[0]] = 0  # past the face
    aligner = completer.aligner()
    face = aligner.detect(np.asarray(image.convert("RGB")))[0]
    aligned = aligner.warp(np.asarray(image.convert("RGB")), face)
    aligned_known = (aligner.warp((known * 255).astype(np.uint8), face) > 127).astype(np.float32)
    completer.complete(aligned, aligned_known)  # warm-up: first passes, thread pools
    start = time.perf_counter()
    if kind in ("photo", "generator", "tuned"):
        if kind == "generator":  # --exemplars none: the generator's detail alone
            completer.exemplars = None
        tune = {"tune": TUNE_STEPS} if kind == "tuned" else {}
        completer.complete_photo(image, known, **tune)  # the library is read on this first use: timed
    else:
        completer.complete(aligned, aligned_known)
    seconds = time.perf_counter() - start
    print(
        json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="4000x3000")
    parser.add_argument("--face", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--past", default="0x0", help="grow the mask W x H px past the face")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    past = tuple(map(int, args.past.split("x")))
    if args.child:
        child(args.child, width, height, args.face, past)
        return
    print(describe_machine())
    runs: dict[str, list[dict]] = {"photo": [], "generator": [], "tuned": [], "aligned": []}
    for _ in range(args.rounds):
        for kind in runs:
            cmd = [sys.executable, __file__, "--child", kind, "--size", args.size, "--face", str(args.face)]
            cmd += ["--past", args.past]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE)
            runs[kind].append(json.loads(done.stdout.splitlines()[-1]))
    where = f", the mask {args.past} px past the face" if past != (0, 0) else ""
    print(f"mouth of a {args.face} px face{where}; median of {args.rounds} rounds; peak RSS of each process")
    print("| path | seconds | peak RSS MB |")
    print("|---|---|---|")
    labels = {
        "photo": f"{args.size} photo (complete --align)",
        "generator": f"{args.size} photo, --exemplars none",
        "tuned": f"{args.size} photo, --tune {TUNE_STEPS}",
        "aligned": "the face at 64x64",
    }
    for kind, label in labels.items():
        secs = sorted(r["seconds"] for r in runs[kind])[len(runs[kind]) // 2]
        peak = max(r["peak_mb"] for r in runs[kind])
        print(f"| {label} | {secs:.2f} | {peak:.0f} |")


if __name__ == "__main__":
    main()

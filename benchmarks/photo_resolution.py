"""Completion at the photo's own resolution, where a person looks at it.

Held-out UTKFace chips (200x200, their native sharpness) are pasted, unresampled, into 320x320
photos (border replicated); the eyes, mouth or centre are masked in photo pixels (the 64-px
masks warped out of the face's aligned frame), and each photo is completed by ganfill
(`complete --align`) and by Telea, Navier-Stokes and PatchMatch at the photo's resolution.
Inside the mask: hole PSNR against the truth, the detail ratio (mean |Laplacian| of the fill
over the truth's, hole eroded 3 px; 1.0 = as sharp as the photo) at full size and with the photo
downsampled by 2 and by 3 (about the model's 64-px frame: how much of the shortfall is the
fill's own, how much the finer detail drawn above it), the SWD (x1e3) of the fills' patches
with its real-against-real floor, the identity distance (dlib's face embedding of the completed
photo against the true photo's, both taken at the true face's landmarks), and seconds per photo.
Method "oracle" is ganfill's photo pipeline with the true face as the 64-px fill: what the warps,
the finisher and the blend keep.
The grid ends with the issue's own test: scikit-image's astronaut with her eyes box and her
mouth box filled by each method.

    python benchmarks/photo_resolution.py [--limit 128] [--skip 0] [--masks eyes,mouth,center]
        [--methods ganfill,telea,ns,patchmatch,oracle] [--grid docs/photo_grid.png]
        [--model FILE] [--finisher FILE|none] [--exemplars FILE|none] [--colouriser FILE|none]
        [--mouth FILE|none]
        [--detail STRENGTH]
        [--search KEY:VALUE:...]  (search settings, CompletionConfig's fields: spread:0.8:lr:0.04)
        [--without-copies]  (leave out the held-out faces with a copy among the training files)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from machine import describe_machine
from realistic_search import parse_setup

from ganfill.baselines import METHODS
from ganfill.completion import Completer
from ganfill.config import CompletionConfig, MaskConfig, ModelSource
from ganfill.data import HELDOUT_FILE, read_split, stem_of
from ganfill.images import find_images, grid, open_rgb, save_png, show_holes
from ganfill.metrics import FaceMetrics, pixel_metrics
from ganfill.photos import box_mask, complete_photo, kind_mask, own_faces
from ganfill.realism import detail_ratio_at, swd

HERE = Path(__file__).resolve().parent
SIDE, ERODE = 320, 3
HOLE_PATCHES = 512
"""SWD patches drawn from each photo's hole per pyramid level. At realism's 64 (enough for a
64-px face) the same 48 photos' fills scored up to 20 apart between draws and the floor read
82-114; at 512, 1-3 apart and 73-83 (swd_noise.py; BENCHMARKS.md "Session 30")."""
ASTRONAUT_BOXES = ((185, 98, 75, 28), (195, 130, 50, 25))  # eyes, mouth (x, y, w, h; the issue's)
ASTRONAUT_CROP = np.s_[30:230, 125:325]  # 200x200 around her face, the size of the chips' crops


def copied() -> set[str]:
    """The held-out faces that have a copy among the training files (the twins file's comments
    name them: `copy  # held-out face (correlation)`), which today's bundled files saw."""
    lines = (HELDOUT_FILE.with_name("heldout_twins.txt")).read_text().splitlines()
    return {line.split("#", 1)[1].split()[0] for line in lines if "#" in line and not line.startswith("#")}


def photos(data: Path, limit: int, skip: int = 0, without: set[str] = frozenset()) -> list[np.ndarray]:
    """The held-out UTKFace chips of heldout_256.txt after the first `skip`, but those in without,
    each pasted into a SIDE x SIDE photo."""
    stems = set(read_split(HERE / "heldout_256.txt")) - without
    chips = [f for f in find_images([data]) if stem_of(f) in stems][skip : skip + limit]
    out = []
    for chip in chips:
        rgb = np.asarray(open_rgb(chip))
        top, left = (SIDE - rgb.shape[0]) // 2, (SIDE - rgb.shape[1]) // 2
        bottom, right = SIDE - rgb.shape[0] - top, SIDE - rgb.shape[1] - left
        out.append(cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REPLICATE))
    return out


def photo_mask(kind: str, matrix: np.ndarray, size: int) -> np.ndarray:
    """The model's `kind` mask, drawn in the face's aligned frame, as a known-mask of the photo."""
    return kind_mask([matrix], (SIDE, SIDE), size, MaskConfig(mask=kind))


def fill(
    method: str,
    completer: Completer,
    photo: np.ndarray,
    known: np.ndarray,
    config: CompletionConfig,
) -> np.ndarray:
    from PIL import Image

    if method == "ganfill":
        return np.asarray(completer.complete_photo(Image.fromarray(photo), known, config).image)
    if method == "oracle":  # the true face as the 64-px fill: what the photo pipeline itself keeps
        done = complete_photo(
            Image.fromarray(photo), known, completer.aligner(), own_faces, finisher=completer.finisher
        )
        return np.asarray(done.image)
    return METHODS[method](photo, known, 8)


def identity(faces: FaceMetrics, truth: np.ndarray, fill: np.ndarray, shape: object) -> float:
    """Distance of the two photos' face embeddings, both taken at the true face's landmarks."""
    a, b = (np.asarray(faces.encoder.compute_face_descriptor(im, shape)) for im in (truth, fill))
    return float(np.linalg.norm(a - b))


def detail_at(truths: np.ndarray, fills: np.ndarray, known: np.ndarray, factor: int) -> float:
    """Mean detail ratio of the fills with the photos downsampled by factor, the hole eroded
    ERODE px at every size."""
    pairs = zip(truths, fills, known, strict=True)
    return float(np.nanmean([detail_ratio_at(f, t, k, factor, erode=ERODE) for t, f, k in pairs]))


def astronaut_rows(completer: Completer, methods: list[str], config: CompletionConfig) -> list[np.ndarray]:
    """The issue's test, last in the grid: scikit-image's astronaut (a 90-px face in a 512x512
    portrait) with the eyes box and the mouth box filled by each method; crops of her face."""
    from skimage import data as samples

    photo = samples.astronaut()
    tiles = []
    for box in ASTRONAUT_BOXES:
        known = box_mask((photo.shape[1], photo.shape[0]), box)
        columns = [photo, show_holes(photo[None], known[None])[0]]
        columns += [fill(method, completer, photo, known, config) for method in methods]
        tiles += [c[ASTRONAUT_CROP] for c in columns]
    return tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data" / "utkface")
    parser.add_argument("--limit", type=int, default=128, help="chips to paste (128: all the held-out ones)")
    parser.add_argument(
        "--skip", type=int, default=0, help="leave out the first N chips (a disjoint set confirms a choice)"
    )
    parser.add_argument("--masks", default="eyes,mouth,center")
    parser.add_argument("--methods", default="ganfill,telea,ns,patchmatch")
    parser.add_argument("--grid", type=Path, help="write crops: truth | masked | each method")
    parser.add_argument("--model", help="model file (default: the bundled one)")
    parser.add_argument("--finisher", help="finisher file, or none (default: the bundled one)")
    parser.add_argument("--exemplars", help="exemplar library file, or none (default: the bundled one)")
    parser.add_argument("--colouriser", help="colouriser file, or none (default: the bundled one)")
    parser.add_argument("--mouth", help="mouth model file, or none (default: the bundled one)")
    parser.add_argument("--detail", type=float, help="strength of the detail pass (default: the schedule's)")
    parser.add_argument("--search", default="", help="search settings as key:value pairs (CompletionConfig)")
    parser.add_argument("--without-copies", action="store_true", help="leave out faces copied in training")
    args = parser.parse_args()
    print(describe_machine())
    files = {
        "model": args.model,
        "finisher": args.finisher,
        "exemplars": args.exemplars,
        "colouriser": args.colouriser,
        "mouth": args.mouth,
    }
    completer = Completer.load(ModelSource(**files))
    _, search = parse_setup(f"search={args.search}")
    config = CompletionConfig(detail=args.detail, **search)
    strength = "default" if args.detail is None else args.detail
    print(
        ", ".join(f"{name} {file or 'bundled'}" for name, file in files.items())
        + f", detail pass {strength}, search {search or 'default'}"
    )
    aligner = completer.aligner()
    without = copied() if args.without_copies else set()
    found = [(p, aligner.detect(p)) for p in photos(args.data, args.limit, args.skip, without)]
    pictures = [(p, faces[0].matrix) for p, faces in found if faces]
    boxes = [faces[0].box for _, faces in found if faces]
    faces = FaceMetrics()
    shapes = [
        faces.predictor(p, faces.dlib.rectangle(*box)) for (p, _), box in zip(pictures, boxes, strict=True)
    ]
    print(f"{len(pictures)} photos of {SIDE}x{SIDE} with a face found (of {len(found)})")
    print("| mask | method | hole PSNR dB | detail | at 1/2 | at 1/3 | SWD (floor) | identity | s/photo |")
    print("|---|---|---|---|---|---|---|---|---|")
    truths = np.stack([p for p, _ in pictures])
    shown = []
    for kind in args.masks.split(","):
        known = np.stack([photo_mask(kind, m, completer.size) for _, m in pictures])
        columns = [truths[:2], show_holes(truths[:2], known[:2])]
        for method in args.methods.split(","):
            start = time.perf_counter()
            fills = np.stack(
                [fill(method, completer, p, k, config) for p, k in zip(truths, known, strict=True)]
            )
            seconds = (time.perf_counter() - start) / len(truths)
            psnr = np.mean(
                [pixel_metrics(t, f, k)["psnr_hole"] for t, f, k in zip(truths, fills, known, strict=True)]
            )
            ratios = [detail_at(truths, fills, known, factor) for factor in (1, 2, 3)]
            score, floor = swd(fills, truths, known, per_image=HOLE_PATCHES)
            ident = np.mean([identity(faces, t, f, s) for t, f, s in zip(truths, fills, shapes, strict=True)])
            cells = " | ".join(f"{r:.2f}" for r in [psnr, *ratios])
            cells += f" | {score:.1f} ({floor:.1f}) | {ident:.3f}"
            cells += f" | {seconds:.2f}"
            print(f"| {kind} | {method} | {cells} |")
            columns.append(fills[:2])
        shown += [c[i, 60:260, 60:260] for i in range(min(2, len(truths))) for c in columns]  # the chips
    if args.grid:
        shown += astronaut_rows(completer, args.methods.split(","), config)
        save_png(grid(np.stack(shown), ncols=2 + len(args.methods.split(","))), args.grid)
        print(f"wrote {args.grid}: per row truth | masked | {' | '.join(args.methods.split(','))}", end="")
        print("; the last two rows: the astronaut's eyes and mouth")


if __name__ == "__main__":
    main()

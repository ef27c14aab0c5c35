"""Batch completion of image files: read images and masks, complete in batches, write every output.

A bad image or a missing mask costs that image only; each batch's files are written as soon as
the batch is done, atomically, so an interrupted job keeps everything finished before.
"""

from __future__ import annotations

import csv
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np
from PIL import Image, ImageOps

from ganfill import masks as mask_kinds
from ganfill.completion import Completer, Completion
from ganfill.config import CompletionConfig, ConfigError, MaskConfig, OutputConfig, RunConfig
from ganfill.errors import InputWarning, UserError
from ganfill.images import (
    ImageError,
    find_images,
    flat_names,
    grid,
    load_mask_file,
    open_image,
    open_rgb,
    save_atomic,
    save_gif,
    save_png,
    show_holes,
)

LOSS_FIELDS = ["image", "iteration", "context", "prior", "total"]


def mask_source(config: MaskConfig) -> Path | None:
    """The mask file or folder that config.mask names, or None for a generated kind."""
    if config.mask in mask_kinds.KINDS:
        return None
    path = Path(config.mask)
    if not path.exists():
        raise mask_kinds.MaskError(
            f"{config.mask}: neither a mask kind ({', '.join(mask_kinds.KINDS)}) nor a mask file or folder"
        )
    return path


@dataclass
class JobReport:
    """What a completion job did: files written, and one line per input that failed."""

    completed: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Inputs:
    """Reads inputs and their masks lazily, reporting problems as lines instead of raising."""

    def __init__(
        self, files: list[Path], size: int, mask: MaskConfig, seed: int, warn: Callable[[str], None]
    ):
        self.files, self.names, self.size, self.mask, self.seed, self.warn = (
            files,
            flat_names(files),
            size,
            mask,
            seed,
            warn,
        )
        self.path = mask_source(mask)
        self.lowres = self.path is None and mask.mask == "lowres"
        self.shared_mask = None
        self.mask_dir: dict[str, Path] = {}
        if self.path is not None and self.path.is_dir():
            self.mask_dir = {p.name.rsplit(".", 1)[0]: p for p in find_images([self.path])}
        elif self.path is not None:
            self.shared_mask = load_mask_file(self.path, (size, size))  # a bad file stops the job

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 [S, S, 3], known [S, S]) of input i; ImageError names the problem."""
        path = self.files[i]
        im = open_rgb(path)
        if im.size != (self.size, self.size):
            message = f"{path}: {im.width}x{im.height} resized to {self.size}x{self.size}"
            warnings.warn(message, InputWarning, stacklevel=1)
            im = im.resize((self.size, self.size), Image.BICUBIC)
        image = np.asarray(im, dtype=np.uint8)
        if self.shared_mask is not None:
            return image, self.shared_mask
        if self.path is not None:
            stem = path.name.rsplit(".", 1)[0]
            if stem not in self.mask_dir:
                raise ImageError(f"{path}: no mask named {stem}.* in {self.path}")
            return image, load_mask_file(self.mask_dir[stem], (self.size, self.size))
        params = self.mask.params()
        return image, mask_kinds.make(self.mask.mask, 1, self.size, seed=self.seed, start=i, **params)[0]

    def batch(self, indices: range, report: JobReport) -> tuple[list[int], np.ndarray, np.ndarray]:
        """The readable inputs among indices: (their indices, images, known masks)."""
        ok, images, knowns = [], [], []
        for i in indices:
            try:
                image, known = self.load(i)
            except ImageError as exc:
                report.failed.append(str(exc))
                self.warn(f"error: {exc}")
                continue
            ok.append(i)
            images.append(image)
            knowns.append(known)
        return ok, np.stack(images) if ok else np.empty(0), np.stack(knowns) if ok else np.empty(0)


Progress = Callable[[int, int, int], Callable[[int, float], None] | None]


def complete_files(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    completer: Completer,
    config: CompletionConfig | None = None,
    *,
    mask: MaskConfig | None = None,
    run: RunConfig | None = None,
    output: OutputConfig | None = None,
    progress: Progress | None = None,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> JobReport:
    """Complete image files into out_dir: NAME.png per input plus grids, losses and frames.

    With output.align the inputs are ordinary photos (complete_photos). progress(batch_index,
    batch_count, steps) may return a per-step callback for a progress bar. With gif and no
    save_every in config, about 40 frames are kept from the first batch.
    """
    config, mask, run, output = (
        config or CompletionConfig(),
        mask or MaskConfig(),
        run or RunConfig(),
        output or OutputConfig(),
    )
    if output.align:
        return complete_photos(
            inputs, out_dir, completer, config, mask=mask, box=output.box_tuple, run=run, warn=warn
        )
    files = _inputs_and_output(inputs, out_dir)
    reader = _Inputs(files, completer.size, mask, run.seed, warn)
    report, sink = JobReport(), _Sink(Path(out_dir), output)
    n, size = len(files), run.batch_size
    batches = [range(lo, min(lo + size, n)) for lo in range(0, n, size)]
    with sink:
        for bi, batch in enumerate(batches):
            ok, images, knowns = reader.batch(batch, report)
            if not ok:
                continue
            steps = completer.plan(knowns, config, lowres=reader.lowres).steps
            if output.gif and not config.save_every:  # about 40 frames of the first batch's search
                config = replace(config, save_every=max(1, steps // 40))
            result = completer.complete(
                images,
                knowns,
                config,
                samples=run.samples,
                lowres=reader.lowres,
                seed=run.seed,
                batch_size=len(ok),
                on_step=progress(bi, len(batches), steps) if progress else None,
                image_ids=ok,
            )
            report.seconds += result.seconds
            report.completed += sink.write(bi, [reader.names[i] for i in ok], images, knowns, result)
    return report


def _inputs_and_output(inputs: Sequence[str | Path], out_dir: str | Path) -> list[Path]:
    """The input image files, after checking that the output folder can take the results
    without overwriting them (an input folder is never the output folder)."""
    files = find_images(inputs)
    if not files:
        raise ImageError(f"{', '.join(map(str, inputs))}: no images found")
    out = Path(out_dir).resolve()
    searched = [Path(p).resolve() for p in inputs if Path(p).is_dir()]
    if any(out == d or d in out.parents for d in searched) or out in {f.resolve().parent for f in files}:
        raise ConfigError(
            f"{out_dir}: the output folder is among the inputs; choose another (inputs are kept)"
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out_dir}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return files


class _Sink:
    """The run's outputs: NAME.png files per batch, losses.csv, grids, frames and the GIF."""

    def __init__(self, out: Path, output: OutputConfig):
        self.out, self.output = out, output
        self.shown: dict[str, list[np.ndarray]] = {"before": [], "masked": [], "completed": []}
        self.frames: list[np.ndarray] = []
        self.file: TextIO | None = None

    def __enter__(self) -> _Sink:
        return self

    def write(self, index: int, names: list[str], images, knowns, result: Completion) -> list[Path]:
        """Write one batch's files at once (atomically); returns the completions' paths.
        losses.csv is started by the first batch done, so a run that completes nothing leaves none."""
        if self.file is None:
            self.file = (self.out / "losses.csv").open("w", newline="")
            self.losses = csv.writer(self.file)
            self.losses.writerow(LOSS_FIELDS)
        _write_batch(self.out, names, result, self.output.keep_hats, self.losses)
        self.file.flush()
        for key, part in zip(self.shown, (images, show_holes(images, knowns), result.images), strict=True):
            self.shown[key].append(part)
        if index == 0 and result.frames:
            self.frames = _write_frames(self.out / "frames", result)
        return [self.out / f"{name}.png" for name in names]

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()
        for name, parts in self.shown.items():
            if parts:
                save_png(grid(np.concatenate(parts)[:64]), self.out / f"{name}.png")
        if self.output.gif and self.frames:
            save_gif(self.frames, self.out / "completion.gif")


def _write_batch(out: Path, names: list[str], result: Completion, keep_hats: bool, losses) -> None:
    for j, name in enumerate(names):
        save_png(result.images[j], out / f"{name}.png")
        if keep_hats:
            save_png(result.hats[j], out / f"{name}.hat.png")
        for s in range(1, result.alternatives.shape[1]):
            save_png(result.alternatives[j, s], out / f"{name}.sample{s + 1}.png")
    for image, it, ctx, pri, total in result.history:
        losses.writerow([names[image], it, f"{ctx:.6g}", f"{pri:.6g}", f"{total:.6g}"])


def _write_frames(folder: Path, result: Completion) -> list[np.ndarray]:
    """frames/hats_N.png and frames/completed_N.png for the first batch; returns GIF frames."""
    pictures = []
    for it, hats, done in result.frames:
        save_png(grid(hats), folder / f"hats_{it:05d}.png")
        pic = grid(done)
        save_png(pic, folder / f"completed_{it:05d}.png")
        pictures.append(pic)
    return pictures


def complete_photos(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    completer: Completer,
    config: CompletionConfig,
    *,
    mask: MaskConfig,
    box: tuple[int, int, int, int] | None = None,
    run: RunConfig,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> JobReport:
    """Complete faces inside ordinary photos: NAME.png per photo, same size, mode and EXIF."""
    mask_path = mask_source(mask)
    if (mask_path is None) == (box is None):
        raise ConfigError(
            "--align needs exactly one of --mask MASK.png (photo pixels, white = fill) or --box"
        )
    files, out = _inputs_and_output(inputs, out_dir), Path(out_dir)
    masks_by_stem = (
        {p.name.rsplit(".", 1)[0]: p for p in find_images([mask_path])}
        if mask_path and mask_path.is_dir()
        else {}
    )
    report = JobReport()
    for path, name in zip(files, flat_names(files), strict=True):
        try:
            photo = open_image(path)
            known = None
            if mask_path is not None:
                stem = path.name.rsplit(".", 1)[0]
                source = masks_by_stem.get(stem) if masks_by_stem else mask_path
                if source is None:
                    raise ImageError(f"{path}: no mask named {stem}.* in {mask_path}")
                upright = ImageOps.exif_transpose(photo)
                known = load_mask_file(source, upright.size)
            result = completer.complete_photo(
                photo, known, config, box=box, seed=run.seed, samples=run.samples
            )
        except UserError as exc:
            line = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            report.failed.append(line)
            warn(f"error: {line}")
            continue
        target = out / f"{name}.png"
        save_atomic(result.image, target, exif=result.image.info.get("exif", b""))
        report.completed.append(target)
    return report

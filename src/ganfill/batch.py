"""Batch completion of image files: read images and masks, complete in batches, write every output.

A bad image or a missing mask costs that image only; each batch's files are written as soon as
the batch is done, atomically, so an interrupted job keeps everything finished before, and a
re-run with the same settings skips it (manifest.py). Under torchrun each process takes its
shard of the sorted inputs (shards.py); every image gets the result a one-process run gives it.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ganfill import manifest, shards
from ganfill import masks as mask_kinds
from ganfill.completion import Completer
from ganfill.config import CompletionConfig, ConfigError, MaskConfig, OutputConfig, RunConfig
from ganfill.data import stem_of
from ganfill.errors import InputWarning, UserError
from ganfill.images import (
    ImageError,
    carried,
    find_images,
    flat_names,
    known_to_mask_image,
    load_mask_file,
    open_image,
    open_rgb,
    save_atomic,
)
from ganfill.outputs import Outputs


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


def masks_by_stem(folder: Path) -> dict[str, Path]:
    """The mask files of a folder by file stem: an input's mask has its name."""
    return {stem_of(p): p for p in find_images([folder])}


@dataclass
class JobReport:
    """What a completion job did: files written, and one line per input that failed."""

    completed: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: int = 0
    """Inputs done before by a job with the same settings (a resumed job)."""


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
            self.mask_dir = masks_by_stem(self.path)
        elif self.path is not None:
            self.shared_mask = load_mask_file(self.path, (size, size))  # a bad file stops the job

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 [S, S, 3], known [S, S]) of input i; ImageError names the problem."""
        path = self.files[i]
        im = open_rgb(path)
        if im.size != (self.size, self.size):
            message = f"{path}: {im.width}x{im.height} resized to {self.size}x{self.size}"
            if im.width != im.height:  # squashed: an aligned face is square
                message += " (not an aligned face? ordinary photos need --align)"
            warnings.warn(message, InputWarning, stacklevel=1)
            im = im.resize((self.size, self.size), Image.BICUBIC)
        image = np.asarray(im, dtype=np.uint8)
        if self.shared_mask is not None:
            return image, self.shared_mask
        if self.path is not None:
            stem = stem_of(path)
            if stem not in self.mask_dir:
                raise ImageError(f"{path}: no mask named {stem}.* in {self.path}")
            return image, load_mask_file(self.mask_dir[stem], (self.size, self.size))
        params = self.mask.params()
        return image, mask_kinds.make(self.mask.mask, 1, self.size, seed=self.seed, start=i, **params)[0]

    def mask_of(self, i: int) -> str:
        """Input i's mask as the manifest names it: a mask file, or the generated kind."""
        if self.shared_mask is not None:
            return str(self.path)
        if self.path is not None:
            found = self.mask_dir.get(stem_of(self.files[i]))
            return str(found) if found else "missing"
        return self.mask.mask

    def batch(
        self, indices: list[int], report: JobReport, log: manifest.Manifest
    ) -> tuple[list[int], np.ndarray, np.ndarray]:
        """The readable inputs among indices: (their indices, images, known masks); the others
        are reported, said in one line and recorded as failed."""
        ok, images, knowns = [], [], []
        for i in indices:
            try:
                image, known = self.load(i)
            except ImageError as exc:
                report.failed.append(str(exc))
                self.warn(f"error: {exc}")
                log.record(self.files[i], None, self.mask_of(i), "failed", 0, str(exc))
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
    config, mask = config or CompletionConfig(), mask or MaskConfig()
    run, output = run or RunConfig(), output or OutputConfig()
    if output.align:
        return complete_photos(
            inputs, out_dir, completer, config, mask=mask, output=output, run=run, warn=warn
        )
    files, out = _inputs_and_output(inputs, out_dir), Path(out_dir)
    reader = _Inputs(files, completer.size, mask, run.seed, warn)
    shard = shards.join(completer.device)
    todo, report, log = _resume(out, files, shard, _settings(completer, config, mask, run, output))
    batches = [todo[lo : lo + run.batch_size] for lo in range(0, len(todo), run.batch_size)]
    with Outputs(out, output, shard, log) as sink:
        for bi, (ok, images, knowns) in enumerate(_read(reader, batches, report, log, output.background_io)):
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
            names, sources = [reader.names[i] for i in ok], [files[i] for i in ok]
            report.completed += sink.write(names, sources, [reader.mask_of(i) for i in ok], images, result)
    shards.wait_for_all(shard)
    if shard.rank == 0:
        manifest.merge(out)
    return report


def _settings(completer: Completer, config, mask, run, output: OutputConfig) -> dict[str, object]:
    """What a re-run must share with a job to skip the inputs it did: what it computes and which
    files it writes (a re-run that asks for masks or hats writes them), not how it reads."""
    model = completer.model
    return {
        "completion": config.to_dict(),
        "mask": mask.to_dict(),
        "run": run.to_dict(),
        "output": {k: v for k, v in output.to_dict().items() if k != "background_io"},
        "model": {"config": model.config.to_dict(), "info": model.info},
    }


def _resume(
    out: Path, files: list[Path], shard: shards.Shard, settings: dict[str, object]
) -> tuple[list[int], JobReport, manifest.Manifest]:
    """This process's inputs still to do (those done before with the same settings are skipped),
    its report and its manifest."""
    done = manifest.done_before(out, settings)
    shards.wait_for_all(shard)  # every process has read the old records before they may go
    if shard.rank == 0:
        manifest.begin(out, settings)
    shards.wait_for_all(shard)
    mine = shard.take(list(range(len(files))))
    todo = [i for i in mine if str(files[i]) not in done]
    return todo, JobReport(skipped=len(mine) - len(todo)), manifest.Manifest(out, shard.rank)


def _read(
    reader: _Inputs, batches: list[list[int]], report: JobReport, log: manifest.Manifest, background: bool
) -> Iterator:
    """Each batch's readable inputs; in the background, the next batch is decoded while the
    caller searches this one."""
    if not background or len(batches) < 2:
        yield from (reader.batch(b, report, log) for b in batches)
        return
    with ThreadPoolExecutor(1, "ganfill-read") as pool:
        ahead = pool.submit(reader.batch, batches[0], report, log)
        for k in range(len(batches)):
            current = ahead.result()
            if k + 1 < len(batches):
                ahead = pool.submit(reader.batch, batches[k + 1], report, log)
            yield current


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


def complete_photos(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    completer: Completer,
    config: CompletionConfig,
    *,
    mask: MaskConfig,
    output: OutputConfig,
    run: RunConfig,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> JobReport:
    """Complete faces inside ordinary photos: NAME.png per photo, same size, mode and EXIF (and
    NAME.mask.png, the mask filled, with output.save_masks)."""
    if config.save_every:
        raise ConfigError(
            "save_every records the search on aligned faces; with align a photo is written whole"
        )
    mask_path, box = mask_source(mask), output.box_tuple
    if box is not None and (mask_path is not None or mask.mask != MaskConfig.mask):
        raise ConfigError(f"--align takes --mask {mask.mask} or --box {','.join(map(str, box))}, not both")
    kind = mask if box is None and mask_path is None else None  # drawn in every face's aligned frame
    if kind is not None:
        mask_kinds.check_region(kind.mask)
    files, out = _inputs_and_output(inputs, out_dir), Path(out_dir)
    by_stem = masks_by_stem(mask_path) if mask_path and mask_path.is_dir() else {}
    shard = shards.join(completer.device)
    settings = _settings(completer, config, mask, run, output)
    todo, report, log = _resume(out, files, shard, settings)
    names = flat_names(files)
    what = str(mask_path) if mask_path else f"box {box}" if box else f"{mask.mask} of every face"
    for i in todo:
        path, start = files[i], time.perf_counter()
        try:
            photo = open_image(path)
            known = kind if mask_path is None else _mask_file_of(path, mask_path, by_stem)
            result = completer.complete_photo(
                photo, known, config, box=box, seed=run.seed, samples=run.samples
            )
        except UserError as exc:
            line = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
            report.failed.append(line)
            warn(f"error: {line}")
            log.record(path, None, what, "failed", 0, line)
            continue
        target = out / f"{names[i]}.png"
        for s, image in enumerate(result.images):  # the best, then NAME.sampleK.png (--samples K)
            name = target if s == 0 else out / f"{names[i]}.sample{s + 1}.png"
            save_atomic(image, name, **carried(image))
        if output.save_masks:
            save_atomic(known_to_mask_image(result.known), out / f"{names[i]}.mask.png")
        seconds = time.perf_counter() - start
        report.seconds += seconds
        log.record(path, target, what, "done", seconds, None)
        report.completed.append(target)
    shards.wait_for_all(shard)
    if shard.rank == 0:
        manifest.merge(out)
    return report


def _mask_file_of(path: Path, mask_path: Path, by_stem: dict[str, Path]) -> Path:
    """A photo's mask file: the one mask file, or the file of its name in a mask folder."""
    stem = stem_of(path)
    source = by_stem.get(stem) if by_stem else mask_path
    if source is None:
        raise ImageError(f"{path}: no mask named {stem}.* in {mask_path}")
    return source

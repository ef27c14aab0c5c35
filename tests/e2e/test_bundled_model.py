"""The bundled face model: what a fresh install completes with when no --model is given."""

from pathlib import Path

import numpy as np
import torch

from ganfill import masks
from ganfill.baselines import METHODS
from ganfill.cli import main
from ganfill.completion import DEFAULT_WEIGHTS, Completer
from ganfill.config import ModelSource
from ganfill.data import load_folder

PHOTOS = Path(__file__).resolve().parents[2] / "examples" / "photos"


def hole_error(out: np.ndarray, faces: np.ndarray, known: np.ndarray) -> float:
    """Mean absolute error (0..255) over the missing pixels."""
    return float(np.abs(out.astype(float) - faces)[known < 0.5].mean())


def test_bundled_model_fills_held_out_faces_better_than_telea(faces_dir: Path) -> None:
    completer = Completer.from_pretrained()
    assert DEFAULT_WEIGHTS.stat().st_size < 30 * 2**20 and completer.model.encoder is not None
    assert completer.model.generator.project.weight.dtype == torch.float32  # stored half, run full
    faces = load_folder(faces_dir, 64).images.permute(0, 2, 3, 1).numpy()  # held-out examples
    for kind, iters, expected in (("center", 20, 20), ("left", None, 10)):  # left: the open-hole default
        known = masks.make(kind, len(faces), 64)
        done = completer.complete(faces, known, iters=iters)
        assert done.iterations.tolist() == [expected] * len(faces)
        telea = np.stack([METHODS["telea"](f, k, 8) for f, k in zip(faces, known, strict=True)])
        assert hole_error(done.images, faces, known) < hole_error(telea, faces, known), kind
        assert np.array_equal(done.images[known > 0.5], faces[known > 0.5])


def test_complete_without_model_uses_the_bundled_one(faces_dir: Path, tmp_path: Path) -> None:
    args = ["complete", str(faces_dir), "--out", str(tmp_path), "--mask", "left", "--no-progress"]
    assert main(args) == 0
    assert all((tmp_path / f.name).exists() for f in faces_dir.glob("*.png"))


def test_sample_without_model_draws_the_bundled_ones_faces(tmp_path: Path) -> None:
    """`ganfill sample --out grid.png` stopped at "the following arguments are required: model"."""
    assert main(["sample", "--out", str(tmp_path / "a.png"), "-n", "4"]) == 0
    assert main(["sample", str(DEFAULT_WEIGHTS), "--out", str(tmp_path / "b.png"), "-n", "4"]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_the_bundled_finisher_draws_a_chips_detail_and_keeps_its_means() -> None:
    from PIL import Image

    from ganfill.alignment import FaceAligner
    from ganfill.finisher import DEFAULT_FINISHER, finish
    from ganfill.realism import detail_ratio

    completer = Completer.from_pretrained()
    assert completer.finisher is not None and DEFAULT_FINISHER.stat().st_size < 2 * 2**20
    photo = np.asarray(Image.open(PHOTOS / "utk_100_1_0_20170112215032192.jpg").convert("RGB"))
    aligner = FaceAligner(192)
    truth = aligner.warp(photo, aligner.detect(photo)[0])  # a held-out face at the finisher's size
    low = truth.reshape(64, 3, 64, 3, 3).mean((1, 3)).round().astype(np.uint8)  # its 3x3 means
    known = masks.make("center", 1, 192)
    out = finish(completer.finisher, low[None], truth[None], known)[0]
    k = completer.finisher.keep  # its output averages to the completion over k x k model pixels
    means = out.reshape(64 // k, 3 * k, 64 // k, 3 * k, 3).mean((1, 3))
    kept = low.reshape(64 // k, k, 64 // k, k, 3).mean((1, 3))
    assert np.abs(means - kept).mean() < 0.5  # what the search decided stays
    smooth = np.asarray(Image.fromarray(low).resize((192, 192), Image.Resampling.BILINEAR))
    assert detail_ratio(smooth, truth, known[0]) < 0.65  # upsampled means are soft...
    assert 0.8 < detail_ratio(out, truth, known[0]) < 1.25  # ...the finisher draws detail


def test_the_bundled_detail_pass_sharpens_the_default_fill_without_a_seam(faces_dir: Path) -> None:
    from ganfill.finisher import DEFAULT_DETAIL
    from ganfill.realism import detail, detail_ratio

    completer = Completer.from_pretrained()
    net = completer.detail
    assert net is not None and (net.scale, net.highpass) == (1, 2.5) and DEFAULT_DETAIL.stat().st_size < 2**20
    faces = load_folder(faces_dir, 64).images.permute(0, 2, 3, 1).numpy()
    known = masks.make("center", len(faces), 64)  # rows and columns 16..47 missing
    plain = completer.complete(faces, known, iters=20, detail=0.0)
    done = completer.complete(faces, known, iters=20)
    assert np.array_equal(done.hats, plain.hats)  # the search is the same; the pass draws over G(z*)
    assert np.array_equal(done.images[known > 0.5], faces[known > 0.5])
    ratio = lambda x: np.mean([detail_ratio(x[i], faces[i], known[i]) for i in range(len(faces))])  # noqa: E731
    assert ratio(done.images) > ratio(plain.images) + 0.1  # the pass draws detail over the soft search
    assert 0.8 < ratio(done.images) < 1.15  # about a real face's (0.93 when pinned), not noise
    band = np.zeros((64, 64), bool)
    band[16:19, 16:48] = True  # the hole's first three rows, along its top edge
    seam = lambda x: np.mean([detail(x[i], band) for i in range(len(faces))])  # noqa: E731
    assert seam(done.images) < 1.2 * seam(faces)  # no line drawn along the seam (it was 1.3x)


def test_a_half_face_gets_the_persons_own_detail_from_the_kept_half(faces_dir: Path) -> None:
    from ganfill.images import to_tensor
    from ganfill.realism import detail_ratio
    from ganfill.symmetry import fine

    completer = Completer.from_pretrained()
    faces = load_folder(faces_dir, 64).images.permute(0, 2, 3, 1).numpy()
    known = masks.make("left", len(faces), 64)
    plain = completer.complete(faces, known, symmetry=0.0)
    done = completer.complete(faces, known)
    assert np.array_equal(done.hats, plain.hats)  # the search is the same; the detail is drawn over G(z*)
    assert np.array_equal(done.images[known > 0.5], faces[known > 0.5])
    ratio = lambda x: np.mean([detail_ratio(x[i], faces[i], known[i]) for i in range(len(faces))])  # noqa: E731
    assert ratio(done.images) > ratio(plain.images) + 0.05
    truth = fine(to_tensor(faces), 2 / 64)
    off = lambda x: (fine(to_tensor(x), 2 / 64) - truth).abs()  # noqa: E731
    hole = torch.from_numpy(known < 0.5)[:, None].expand_as(truth)
    assert off(done.images)[hole].mean() < off(plain.images)[hole].mean()  # the person's own detail


def test_the_bundled_exemplars_give_a_photos_eyes_a_real_faces_detail() -> None:
    from PIL import Image

    from ganfill.exemplars import DEFAULT_EXEMPLARS
    from ganfill.photos import box_mask
    from ganfill.realism import detail_ratio

    completer = Completer.from_pretrained()
    assert completer.exemplars is not None and DEFAULT_EXEMPLARS.stat().st_size < 16 * 2**20
    photo = Image.open(PHOTOS / "utk_100_1_0_20170112215032192.jpg").convert("RGB")  # held out
    truth = np.asarray(photo)
    known = box_mask(photo.size, (40, 50, 120, 32))  # the eyes of this 200x200 chip
    done = np.asarray(completer.complete_photo(photo, known).image)
    library = completer.exemplars
    completer.exemplars = None  # --exemplars none: the generator's detail alone
    alone = np.asarray(completer.complete_photo(photo, known).image)
    keep = known > 0.5
    assert np.array_equal(done[keep], truth[keep]) and np.array_equal(alone[keep], truth[keep])
    with_library, generator_only = (detail_ratio(out, truth, known, erode=3) for out in (done, alone))
    assert generator_only < 0.75 and 0.8 < with_library < 1.25  # measured 0.63 and 1.06
    assert library.faces.shape == (2 * library.info["faces"], 64, 64)


def test_build_exemplars_writes_a_library_the_completer_takes(faces_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "library.safetensors"
    split = tmp_path / "split.txt"
    split.write_text("celeba_000053\n")
    argv = [
        "build-exemplars",
        str(faces_dir),
        "--out",
        str(out),
        "--keep",
        "0.5",
        "--exclude-file",
        str(split),
    ]
    assert main(argv) == 0
    completer = Completer.load(ModelSource(exemplars=str(out)))
    assert completer.exemplars is not None and len(completer.exemplars) == 2 * 7  # half of 15, mirrored
    assert completer.exemplars.info["of"] == 15
    assert Completer.load(ModelSource(exemplars="none")).exemplars is None


def test_the_bundled_colouriser_gives_the_fill_a_real_faces_colours_and_keeps_its_light_and_shade(
    faces_dir: Path,
) -> None:
    from ganfill.colouring import DEFAULT_COLOURISER, to_ycc
    from ganfill.realism import colour_ratio

    completer = Completer.from_pretrained()
    assert completer.colouriser is not None and DEFAULT_COLOURISER.stat().st_size < 4 * 2**20
    faces = load_folder(faces_dir, 64).images.permute(0, 2, 3, 1).numpy()
    known = masks.make("mouth", len(faces), 64)
    alone = {"iters": 20, "mouth_steps": 0, "tune": 0}  # the colouriser alone after the search
    plain = completer.complete(faces, known, colour=0.0, **alone)
    done = completer.complete(faces, known, **alone)
    assert np.array_equal(done.hats, plain.hats)  # the search is the same; the colours change after it
    assert np.array_equal(done.images[known > 0.5], faces[known > 0.5])
    ycc = lambda x: to_ycc(torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255)  # noqa: E731
    hole = torch.from_numpy(known < 0.5)
    luma_change = (ycc(done.images)[:, 0] - ycc(plain.images)[:, 0]).abs()[hole].mean() * 255
    assert luma_change < 1.0  # light and shade stay (the blend is linear: the luma blends alike)
    spread = lambda x: np.nanmean([colour_ratio(x[i], faces[i], known[i]) for i in range(len(faces))])  # noqa: E731
    assert spread(plain.images) < 0.9 and spread(done.images) > spread(plain.images) + 0.02  # less pale
    error = lambda x: (ycc(x)[:, 1:] - ycc(faces)[:, 1:]).abs().mean(1)[hole].mean() * 255  # noqa: E731
    assert error(done.images) < error(plain.images) + 0.1  # and no further from the true colours
    assert Completer.load(ModelSource(colouriser="none")).colouriser is None


def test_train_colouriser_writes_a_file_the_completer_takes(faces_dir: Path, tmp_path: Path) -> None:
    out, split = tmp_path / "colouriser.safetensors", tmp_path / "split.txt"
    split.write_text("celeba_000053\n")
    argv = ["train-colouriser", str(faces_dir), "--out", str(out), "--steps", "3", "--width", "4"]
    assert main([*argv, "--batch-size", "4", "--exclude-file", str(split), "--no-progress"]) == 0
    completer = Completer.load(ModelSource(colouriser=str(out)))
    assert completer.colouriser is not None and completer.colouriser.info["faces"] == 15
    assert completer.colouriser.spec == {"width": 4}

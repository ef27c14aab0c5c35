import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTOS
from PIL import Image, ImageCms

from ganfill.alignment import TEMPLATE, AlignmentError, FaceAligner, align_folder, unwarp, warp
from ganfill.cli import main
from ganfill.config import AlignConfig
from ganfill.images import ImageError

UTK = PHOTOS / "utk_100_1_0_20170112215032192.jpg"
CELEBA = PHOTOS / "celeba_000053.jpg"


@pytest.mark.parametrize("photo", [UTK, CELEBA])
def test_aligned_landmarks_land_on_the_template(photo: Path) -> None:
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    aligner = FaceAligner(128)
    face = aligner.detect(rgb)[0]
    aligned = aligner.warp(rgb, face)
    # Find the landmarks again on the aligned face (upsampled 2x for the predictor).
    again = FaceAligner(128, assume_cropped=True).detect(
        np.asarray(Image.fromarray(aligned).resize((256, 256)))
    )
    points = again[0].landmarks / 2
    for i in (39, 42, 57):  # inner eyes and bottom lip
        error_at_64 = np.abs(points[i] - 128 * np.array(TEMPLATE[i])).max() / 2
        assert error_at_64 < 2, (i, error_at_64)


def test_warp_round_trip_is_close_to_identity_inside_the_face() -> None:
    rgb = np.asarray(Image.open(UTK).convert("RGB"))
    face = FaceAligner(64).detect(rgb)[0]
    yy, xx = np.mgrid[0:200, 0:200]
    smooth = np.stack([xx, yy, xx + yy], -1).astype(np.float32) / 2
    back = unwarp(warp(smooth, face.matrix, 64), face.matrix, smooth.shape[:2])
    # Compare inside the face box where the aligned frame covers the photo (the template
    # crops the forehead), away from the frame's edge.
    frame = np.zeros((64, 64), np.uint8)
    frame[3:-3, 3:-3] = 1
    covered = unwarp(frame, face.matrix, smooth.shape[:2], interpolation="nearest").astype(bool)
    left, top, right, bottom = face.box
    in_box = np.zeros_like(covered)
    in_box[top:bottom, left:right] = True
    inside = covered & in_box
    assert inside.sum() > 0.5 * (bottom - top) * (right - left)
    assert np.abs(back[inside] - smooth[inside]).max() < 1.0


def test_align_folder_reports_and_skips(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    Image.open(UTK).save(src / "a.jpg")
    Image.open(UTK).save(src / "sub" / "a.jpg")  # same stem in a subfolder: flat names stay unique
    Image.new("RGB", (120, 120), (90, 140, 200)).save(src / "sky.png")
    (src / "broken.jpg").write_bytes(b"nope")
    dst = tmp_path / "dst"
    summary = align_folder(src, dst, AlignConfig(workers=1), progress=False)
    assert (summary.read, summary.aligned, summary.no_face, summary.unreadable) == (4, 2, 1, 1)
    assert sorted(p.name for p in dst.glob("*.png")) == ["a.png", "sub__a.png"]
    assert Image.open(dst / "a.png").size == (64, 64)
    rows = {Path(r["file"]).name + r["status"] for r in csv.DictReader((dst / "align_report.csv").open())}
    assert "sky.pngno_face" in rows and "broken.jpgunreadable" in rows
    again = align_folder(src, dst, AlignConfig(workers=1), progress=False)
    assert again.skipped == 3 and again.read == 1  # only the unreadable file is tried again


def test_align_cli(tmp_path: Path, capsys) -> None:
    assert (
        main(["align", str(PHOTOS), str(tmp_path / "out"), "--no-progress", "--workers", "1", "--size", "32"])
        == 0
    )
    assert "aligned 2" in capsys.readouterr().out
    assert Image.open(tmp_path / "out" / "celeba_000053.png").size == (32, 32)


def _photo_with_orientation(tmp_path: Path) -> Path:
    im = Image.open(UTK).rotate(90, expand=True)  # stored sideways; EXIF says rotate back
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "sideways.jpg"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # a colour profile
    im.save(path, exif=exif.tobytes(), quality=95, icc_profile=srgb, dpi=(300, 300))
    return path


def test_complete_align_changes_only_masked_pixels(tiny_model_file: Path, tmp_path: Path) -> None:
    from ganfill.completion import Completer

    photo = Image.open(UTK)
    known = np.ones((200, 200), np.float32)
    known[100:140, 70:130] = 0  # the mouth region
    result = Completer(tiny_model_file).complete_photo(photo, known, iters=3)
    before, after = np.asarray(photo), np.asarray(result.image)
    keep = known.astype(bool)
    assert result.image.size == photo.size and result.image.mode == photo.mode
    from_array = Completer(tiny_model_file).complete_photo(before, known, iters=3).image  # a notebook's array
    assert np.array_equal(np.asarray(from_array), after)
    with pytest.raises(ImageError, match=r"uint8 \[H, W\], \[H, W, 3\] or \[H, W, 4\], got float64"):
        Completer(tiny_model_file).complete_photo(before / 255.0, known, iters=3)
    assert np.array_equal(before[keep], after[keep])
    assert (before[~keep] != after[~keep]).any()
    grown = Completer(tiny_model_file).complete_photo(photo, known, iters=3, dilate=4, feather=3)
    after = np.asarray(grown.image)
    far = np.ones((200, 200), bool)
    far[96:144, 66:134] = False  # the mouth box grown by 4 photo pixels (and its corners)
    ring = ~far & keep
    assert np.array_equal(before[far], after[far]) and (before[ring] != after[ring]).any()
    filled = grown.known == 0  # what it says it filled: the hole and a ring around it
    assert filled[~keep].all() and not filled[far].any() and filled[ring].any()


@pytest.mark.parametrize(
    "mode, returned",
    [("LA", "LA"), ("I;16", "I;16"), ("I", "I"), ("PA", "RGBA"), ("P", "RGB"), ("CMYK", "RGB")],
)
def test_other_modes_keep_their_pixels_alpha_and_depth_outside_the_hole(
    tiny_model_file: Path, mode: str, returned: str
) -> None:
    from ganfill.completion import Completer

    face = Image.open(UTK)
    if mode in ("I;16", "I"):  # 16-bit grey: values no 8-bit image holds
        deep = np.asarray(face.convert("L")).astype(np.uint16) * 257 + 3
        photo = Image.fromarray(deep if mode == "I;16" else deep.astype(np.int32))
    elif mode == "LA":
        photo = Image.merge("LA", (face.convert("L"), Image.linear_gradient("L").resize(face.size)))
    elif mode == "PA":
        photo = face.convert("P").convert("PA")
    else:
        photo = face.convert(mode)
    space = {"LA": b"GRAY", "I;16": b"GRAY", "I": b"GRAY", "CMYK": b"CMYK"}.get(mode, b"RGB ")
    photo.info["icc_profile"] = bytes(16) + space + bytes(108)  # a colour profile's header
    known = np.ones((200, 200), np.float32)
    known[100:140, 70:130] = 0
    result = Completer(tiny_model_file).complete_photo(photo, known, iters=2)
    kept = result.image.info.get("icc_profile")
    assert kept == (None if mode == "CMYK" else photo.info["icc_profile"])  # not CMYK's over RGB
    expected = photo if mode == returned else photo.convert(returned)
    before, after, keep = np.asarray(expected), np.asarray(result.image), known.astype(bool)
    assert result.image.mode == returned and result.image.size == photo.size
    assert np.array_equal(before[keep], after[keep])  # every channel, alpha and 16-bit values kept
    assert (before[~keep] != after[~keep]).any()
    if returned in ("LA", "RGBA"):  # the hole keeps its transparency too
        assert np.array_equal(before[..., -1], after[..., -1])


def test_each_face_of_a_group_fills_its_own_part_of_the_hole(
    tiny_model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganfill import photos
    from ganfill.completion import Completer

    blended = []  # each face's part of the hole, in the order the faces are blended in
    real_blend = photos._blend_region
    monkeypatch.setattr(
        photos, "_blend_region", lambda t, s, keep, f: blended.append(~keep) or real_blend(t, s, keep, f)
    )
    face = np.asarray(Image.open(UTK))
    photo = Image.fromarray(np.concatenate([face, face[:, ::-1]], 1))  # two people side by side
    known = np.ones((200, 400), np.float32)
    known[100:140, 40:360] = 0  # one box across both mouths
    Completer(tiny_model_file).complete_photo(photo, known, iters=2)
    assert len(blended) == 2 and not (blended[0] & blended[1]).any()  # no face drawn over another
    first, second = (np.nonzero(part.any(0))[0] for part in blended)  # columns of the work area
    assert first.max() <= second.min() or second.max() <= first.min()  # one side each (a slanted edge shared)


def test_a_mask_kind_is_drawn_in_every_face_of_a_photo(tiny_model_file: Path, tmp_path: Path, capsys) -> None:
    from ganfill.completion import Completer
    from ganfill.config import ConfigError, MaskConfig
    from ganfill.masks import MaskError, make
    from ganfill.photos import kind_mask

    face = np.asarray(Image.open(UTK))
    group = np.concatenate([face, face[:, ::-1]], 1)  # two people side by side
    Image.fromarray(group).save(tmp_path / "group.png")
    found = FaceAligner(16).detect(group)  # the tiny model's frame
    known = kind_mask([f.matrix for f in found], group.shape[:2], 16, MaskConfig(mask="eyes"))
    assert len(found) == 2
    for f in found:  # each face's eyes in the hole, its mouth kept
        at = np.round(f.landmarks).astype(int)
        assert (known[at[36:48, 1], at[36:48, 0]] == 0).all() and (known[at[48:, 1], at[48:, 0]] == 1).all()
    Image.fromarray(((known < 0.5) * 255).astype(np.uint8)).save(tmp_path / "eyes.png")
    model = ["--model", str(tiny_model_file), "--iters", "1", "--no-progress"]
    by_kind = ["complete", str(tmp_path / "group.png"), "--align", "--mask", "eyes", *model]
    assert main([*by_kind, "--save-masks", "--out", str(tmp_path / "k")]) == 0
    saved = np.asarray(Image.open(tmp_path / "k" / "group.mask.png"))  # the mask filled, as a file
    assert np.array_equal(saved, np.asarray(Image.open(tmp_path / "eyes.png")))
    by_file = ["complete", str(tmp_path / "group.png"), "--align", "--mask", str(tmp_path / "eyes.png")]
    assert main([*by_file, *model, "--out", str(tmp_path / "f")]) == 0
    done = np.asarray(Image.open(tmp_path / "k" / "group.png"))
    assert np.array_equal(done, np.asarray(Image.open(tmp_path / "f" / "group.png")))  # the same mask
    hole = known == 0
    assert np.array_equal(done[~hole], group[~hole]) and (done[hole] != group[hole]).any()
    completer = Completer(tiny_model_file)  # the Python API: a kind's name, or the mask's file
    assert np.array_equal(completer.known_mask(group, "eyes"), known)
    for neither_or_both in ({}, {"known": "eyes", "box": (0, 0, 8, 8)}):
        with pytest.raises(ConfigError, match="give exactly one of known"):
            completer.known_mask(group, **neither_or_both)
    aligned = np.asarray(Image.open(UTK).resize((16, 16)))  # without align: complete's kinds and files
    assert np.array_equal(
        completer.known_mask(aligned, "random", align=False, seed=3), make("random", 1, 16, seed=3)[0]
    )
    Image.fromarray(((make("left", 1, 16)[0] < 0.5) * 255).astype(np.uint8)).save(tmp_path / "left.png")
    grown = completer.known_mask(
        aligned, tmp_path / "left.png", align=False, dilate=1
    )  # the half, grown by 1
    assert (grown[:, :9] == 0).all() and (grown[:, 9:] == 1).all()
    for mask in ("eyes", tmp_path / "eyes.png", str(tmp_path / "eyes.png")):
        assert np.array_equal(np.asarray(completer.complete_photo(group, mask, iters=1).image), done)
    with pytest.raises(MaskError, match="mask 'nose' is unknown"):
        completer.complete_photo(group, "nose", iters=1)
    with pytest.raises(ImageError, match=r"nose\.png: no such mask file"):
        completer.complete_photo(group, "nose.png", iters=1)
    capsys.readouterr()
    for flags, message in [
        (["--mask", "random"], "'random' is scattered pixels or a low-resolution view"),
        (["--mask", "eyes", "--box", "0,0,8,8"], "--align takes --mask eyes or --box 0,0,8,8, not both"),
    ]:
        assert main([*by_kind[:3], *flags, *model, "--out", str(tmp_path / "e")]) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "e").exists()


def test_a_mask_reaching_past_the_face_removes_what_it_covers_there(tiny_model_file: Path) -> None:
    from ganfill.completion import Completer

    canvas = np.full((200, 340, 3), 128, np.uint8)
    canvas[:, :200] = np.asarray(Image.open(UTK))
    canvas[105:135, 270:300] = (255, 0, 0)  # an object beside the face, outside its frame
    known = np.ones((200, 340), np.float32)
    known[100:140, 70:310] = 0  # one box from the mouth to the object
    done = np.asarray(
        Completer(tiny_model_file).complete_photo(Image.fromarray(canvas), known, iters=2).image
    )
    hole = known == 0
    assert np.array_equal(done[~hole], canvas[~hole])
    object_left = done[105:135, 270:300].astype(int)
    assert np.abs(object_left - 128).max() < 40  # inpainted from the grey around it, no red left
    assert (done[100:140, 70:130] != canvas[100:140, 70:130]).any()  # the mouth filled
    rim = np.pad(np.zeros((198, 338), np.float32), 1, constant_values=1)  # a 1-px rim known
    with pytest.raises(ImageError, match="the mask grown by 2 px covers the whole photo"):
        Completer(tiny_model_file).complete_photo(Image.fromarray(canvas), rim, dilate=2)


def test_a_grainy_photo_gets_its_grain_in_the_fill(tiny_model_file: Path) -> None:
    from ganfill.completion import Completer
    from ganfill.grain import grain_covariance, residual

    rng = np.random.default_rng(0)
    noisy = np.asarray(Image.open(UTK)).astype(float) + rng.normal(0, 6, (200, 200, 1))  # film grain
    photo = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    known = np.ones((200, 200), np.float32)
    known[100:140, 70:130] = 0
    completer = Completer(tiny_model_file)
    smooth, grainy = (
        np.asarray(completer.complete_photo(photo, known, iters=2, grain=g).image) for g in (0, 1)
    )
    inner, ring = np.s_[105:135, 75:125], np.s_[80:96, 60:140]  # inside the hole; known, above it
    level = [
        np.sqrt(np.diag(grain_covariance(residual(im)[sl].reshape(-1, 3)))).mean()
        for im, sl in [(smooth, inner), (grainy, inner), (np.asarray(photo), ring)]
    ]
    assert level[0] < 0.5 * level[2] and abs(level[1] - level[2]) < 0.2 * level[2], level
    assert np.array_equal(smooth[known > 0], grainy[known > 0])


def test_a_black_and_white_photo_stored_as_rgb_gets_a_grey_fill(planted, aligner16, tmp_path: Path) -> None:
    from ganfill.completion import Completer

    path = tmp_path / "bw.jpg"
    Image.open(UTK).convert("L").convert("RGB").save(path, quality=90)  # JPEG adds colour noise
    known = np.ones((200, 200), np.float32)
    known[100:140, 70:130] = 0
    completer = Completer(planted, aligner=aligner16)  # a generator that draws strong colours
    done = np.asarray(completer.complete_photo(path, known, iters=2, blend="none").image).astype(int)
    hole = done[100:140, 70:130]
    assert (hole.max(-1) - hole.min(-1)).max() <= 1


def test_complete_align_keeps_exif_orientation_and_mode(tiny_model_file: Path, tmp_path: Path) -> None:
    path = _photo_with_orientation(tmp_path)
    out = tmp_path / "out"
    args = [
        "complete",
        str(path),
        "--align",
        "--box",
        "70,100,60,40",
        "--out",
        str(out),
        "--model",
        str(tiny_model_file),
    ]
    assert main([*args, "--iters", "2", "--no-progress", "--samples", "2"]) == 0
    done = Image.open(out / "sideways.png")
    second = Image.open(out / "sideways.sample2.png")  # --samples K: the others beside the best
    assert second.size == done.size and second.getexif().get(0x0112) == 6
    assert not np.array_equal(np.asarray(second), np.asarray(done))
    stored = Image.open(path)
    assert done.size == stored.size and done.mode == stored.mode
    assert done.getexif().get(0x0112) == 6 and done.info["icc_profile"] == stored.info["icc_profile"]
    assert np.round(done.info["dpi"]).tolist() == [300, 300]  # prints at the photo's size
    a, b = np.asarray(stored), np.asarray(done)
    upright_keep = np.ones((200, 200), bool)
    upright_keep[100:140, 70:130] = False
    keep = np.asarray(Image.fromarray(upright_keep).transpose(Image.Transpose.ROTATE_90))
    assert np.array_equal(a[keep], b[keep])
    written = (out / "sideways.png").stat().st_mtime_ns
    assert (
        main([*args, "--iters", "2", "--no-progress", "--samples", "2"]) == 0
    )  # the same job: nothing to do
    assert (out / "sideways.png").stat().st_mtime_ns == written
    assert main([*args, "--iters", "3", "--no-progress"]) == 0  # other settings: done again
    assert (out / "sideways.png").stat().st_mtime_ns != written
    assert main([*args, "--iters", "3", "--no-progress", "--save-masks"]) == 0  # other files: written
    assert (out / "sideways.mask.png").exists()


def test_a_photo_jobs_report_counts_its_time(tiny_model_file: Path, tmp_path: Path) -> None:
    from ganfill.batch import complete_photos
    from ganfill.completion import Completer
    from ganfill.config import CompletionConfig, MaskConfig, OutputConfig, RunConfig

    out = tmp_path / "out"
    config, run = CompletionConfig(iters=2), RunConfig()
    output = OutputConfig(align=True, box="70,100,60,40")
    completer = Completer(tiny_model_file)
    report = complete_photos([UTK], out, completer, config, mask=MaskConfig(), output=output, run=run)
    recorded = [json.loads(line)["seconds"] for line in (out / "manifest.jsonl").open()]
    assert len(report.completed) == 1 and recorded[0] > 0
    assert report.seconds == pytest.approx(sum(recorded), abs=1e-3)  # the summary line prints it


def test_no_face_or_missed_mask_is_a_clear_error(tiny_model_file: Path, tmp_path: Path, capsys) -> None:
    sky = tmp_path / "sky.png"
    Image.new("RGB", (120, 120), (90, 140, 200)).save(sky)
    model = ["--model", str(tiny_model_file), "--iters", "1", "--no-progress"]
    assert (
        main(["complete", str(sky), "--align", "--box", "10,10,20,20", "--out", str(tmp_path / "o"), *model])
        == 1
    )
    assert "sky.png: no face found" in capsys.readouterr().err
    assert not (tmp_path / "o" / "sky.png").exists()
    assert (
        main(["complete", str(UTK), "--align", "--box", "0,0,8,8", "--out", str(tmp_path / "o"), *model]) == 1
    )
    assert "mask touches none of the faces" in capsys.readouterr().err
    boxed = ["complete", str(UTK), "--align", "--box", "70,100,60,40", "--out", str(tmp_path / "p"), *model]
    for flags, message in [(["--gif"], "keep_hats and gif"), (["--save-every", "5"], "save_every records")]:
        assert main([*boxed, *flags]) == 2  # not silently ignored
        assert message in capsys.readouterr().err and not (tmp_path / "p").exists()


@pytest.mark.parametrize("size", [(1, 1), (3, 3), (9, 9), (300, 3)])
def test_a_photo_too_small_for_a_face_is_no_face(size: tuple[int, int], tmp_path: Path, capsys) -> None:
    """dlib's CNN detector raises (or corrupts memory) on such images: they have no face instead."""
    assert FaceAligner(64).detect(np.full((*size, 3), 128, np.uint8)) == []
    Image.new("RGB", size[::-1], (128, 128, 128)).save(tmp_path / "dot.png")
    out = str(tmp_path / "o")
    assert main(["complete", str(tmp_path / "dot.png"), "--align", "--out", out, "--no-progress"]) == 1
    assert "dot.png: no face found" in capsys.readouterr().err


def test_unknown_landmark_set() -> None:
    with pytest.raises(AlignmentError, match="inner-eyes-bottom-lip"):
        FaceAligner(64, landmarks="nose-only")


def test_a_face_larger_than_the_frame_is_drawn_by_the_finisher(
    tiny_model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganfill import photos
    from ganfill.completion import Completer
    from ganfill.finisher import Finisher

    contexts = []
    real_finish = photos.finish
    monkeypatch.setattr(photos, "finish", lambda f, *a: contexts.append(a[1].shape) or real_finish(f, *a))
    photo = Image.open(UTK)  # its face spans about 10 photo pixels per pixel of the 16-px frame
    known = np.ones((200, 200), np.float32)
    known[100:140, 70:130] = 0
    torch_seeded = Finisher(width=8, blocks=1)
    plain = Completer(tiny_model_file).complete_photo(photo, known, iters=2, blend="none")
    finished = Completer(tiny_model_file, finisher=torch_seeded).complete_photo(
        photo, known, iters=2, blend="none"
    )
    assert contexts == [(1, 48, 48, 3)]  # the photo seen at 3x the frame
    before, a, b = (np.asarray(im).astype(int) for im in (photo, plain.image, finished.image))
    keep = known.astype(bool)
    assert np.array_equal(before[keep], b[keep]) and (a[~keep] != b[~keep]).any()


def test_a_photo_drawn_by_the_finisher_gets_the_detail_pass_first(
    tiny_model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganfill import completion
    from ganfill.completion import Completer
    from ganfill.finisher import Finisher

    strengths = []
    real = completion.add_detail
    monkeypatch.setattr(
        completion, "add_detail", lambda net, hats, s: strengths.append(s) or real(net, hats, s)
    )
    known = np.ones((200, 200), np.float32)
    known[100:140, 70:130] = 0
    completer = Completer(
        tiny_model_file, finisher=Finisher(width=8, blocks=1), detail=Finisher(width=8, blocks=1, scale=1)
    )
    completer.complete_photo(Image.open(UTK), known, iters=2, blend="none", detail=1.0)  # tiny G: no encoder
    # Without the pass the finisher sharpened the soft guess alone: the photo's eyes at 0.71 detail.
    assert strengths and float(np.asarray(strengths[0]).max()) == 1.0

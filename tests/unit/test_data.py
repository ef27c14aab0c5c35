import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganfill.data import HELDOUT_FILE, ImageSet, excluded, find_twins, load_folder, read_split

FACES = Path(__file__).resolve().parents[2] / "examples" / "faces"


def _faces() -> dict[str, np.ndarray]:
    return {f.stem: np.asarray(Image.open(f).convert("RGB")) for f in sorted(FACES.glob("*.png"))}


def _recoloured_jpeg(face: np.ndarray) -> np.ndarray:
    """The same photo as a dataset holds it twice: re-encoded, brighter, warmer."""
    shifted = np.clip(face.astype(np.float32) * [1.15, 1.05, 0.9] + 12, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(shifted).save(buffer, "JPEG", quality=70)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_twins_are_the_split_faces_copies_and_no_other_face() -> None:
    faces = _faces()
    held = list(faces)[:2]
    named = {**faces, "copy_a": faces[held[0]], "copy_b": _recoloured_jpeg(faces[held[1]])}
    images = torch.from_numpy(np.stack(list(named.values()))).permute(0, 3, 1, 2).contiguous()
    pairs = find_twins(ImageSet(images, list(named), []), held)
    assert {(mine, copy) for mine, copy, _ in pairs} == {(held[0], "copy_a"), (held[1], "copy_b")}
    assert all(0.94 < c <= 1.0001 for _, _, c in pairs)
    assert find_twins(ImageSet(images, list(named), []), ["not_there"]) == []


def test_excluded_adds_the_twins_listed_beside_the_split(tmp_path: Path) -> None:
    split = tmp_path / "held.txt"
    split.write_text("# held out\na\nb\n")
    assert excluded(split) == ("a", "b") and excluded(None) == excluded("") == ()
    (tmp_path / "held_twins.txt").write_text("c  # copy of a\n")
    assert excluded(split) == ("a", "b", "c")


def test_the_bundled_twins_are_training_files_left_out_with_the_split() -> None:
    twins = read_split(HELDOUT_FILE.with_name("heldout_twins.txt"))
    assert twins and not set(twins) & set(read_split())
    assert set(excluded(HELDOUT_FILE)) == set(read_split()) | set(twins)


def test_a_folder_of_avif_faces_loads_as_the_gpu_pack_sends_them(tmp_path: Path) -> None:
    """tools/gpu_faces.py sends the training faces as AVIF 4:4:4: train reads them by their stems."""
    faces = _faces()
    for stem, face in faces.items():
        Image.fromarray(face).save(tmp_path / f"{stem}.avif", quality=90, subsampling="4:4:4")
    loaded = load_folder(tmp_path, 64)
    assert loaded.names == list(faces) and not loaded.skipped
    truth = torch.from_numpy(np.stack(list(faces.values()))).float()
    assert (loaded.images.permute(0, 2, 3, 1).float() - truth).abs().mean() < 2.0  # near-lossless

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ganfill import masks
from ganfill.checkpoint import EXEMPLARS_KIND, ModelFileError, read_safetensors, write_safetensors
from ganfill.config import ExemplarConfig
from ganfill.exemplars import (
    LUMA,
    NEAR,
    Library,
    _blur,
    _coarse,
    build_library,
    nearest,
    sharpness,
    transfer,
    transfer_face,
)

FACES = Path(__file__).resolve().parents[2] / "examples" / "faces"


def _faces() -> np.ndarray:
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in sorted(FACES.glob("*.png"))])


def _detail(luma: np.ndarray, region: np.ndarray) -> float:
    return float(np.abs(cv2.Laplacian(luma.astype(np.float32), cv2.CV_32F))[region].mean())


@pytest.fixture
def library_file(tmp_path: Path) -> Path:
    """The example faces, and blurred copies of them that the library must leave out."""
    folder = tmp_path / "aligned"
    folder.mkdir()
    for i, face in enumerate(_faces()):
        Image.fromarray(face).save(folder / f"sharp_{i:02d}.png")
        Image.fromarray(cv2.GaussianBlur(face, (0, 0), 2.0)).save(folder / f"soft_{i:02d}.png")
    out = tmp_path / "library.safetensors"
    assert build_library(folder, out, ExemplarConfig(keep=0.5, quality=95), exclude=["sharp_15"]) == 15
    return out


def test_the_library_keeps_the_sharpest_faces_less_the_excluded_and_adds_mirrors(library_file: Path) -> None:
    _, meta = read_safetensors(library_file, EXEMPLARS_KIND)  # safetensors: no pickle
    assert meta["info"]["faces"] == 15 and meta["info"]["of"] == 31
    library = Library(library_file)
    luma = np.round(_faces()[:15].astype(np.float32) @ LUMA).astype(np.uint8)
    assert len(library) == 30 and library.faces.shape == (30, 64, 64)
    # the sharp originals, in order (JPEG's small loss), not the blurred copies; then their mirrors
    assert np.abs(library.faces[:15].astype(float) - luma).mean() < 2.5
    assert np.array_equal(library.faces[15:], library.faces[:15, :, ::-1])
    assert sharpness(library.faces[:15]).min() > sharpness(cv2.GaussianBlur(luma[0], (0, 0), 2.0)[None])[0]


def test_each_faces_features_are_its_own_blurs_mirrored_copies_too(library_file: Path) -> None:
    """The copies take the originals' blurs mirrored (half the first use's work): each must still
    be the blur of its own face, up to rounding."""
    library = Library(library_file)
    near = np.stack([_blur(f, NEAR) for f in library.faces])  # each face's own, mirrored or not
    far = np.stack([_coarse(f) for f in library.faces])
    assert np.abs(library.near - near).max() <= 0.5 + 1e-3
    assert np.abs(library.far - far).max() < 1e-3
    mirrors = library.far[library.people :]
    assert not np.allclose(mirrors, library.far[: library.people], atol=1)  # the copies are not the originals


def test_a_face_in_the_library_is_found_from_its_surroundings_and_a_soft_fill(library_file: Path) -> None:
    library = Library(library_file)
    faces = _faces()
    known = masks.make("eyes", 1, 64)[0] > 0.5
    for i in (0, 7, 14):
        fill = np.where(known[..., None], faces[i], cv2.GaussianBlur(faces[i], (0, 0), 2.5))
        [(index, gain)] = nearest(library, faces[i], known, fill[None])
        assert index == i and gain == pytest.approx(1.0, abs=0.05)


def test_a_faces_alternatives_borrow_from_different_people(library_file: Path) -> None:
    """Close alternatives of one face took the same library face, so they differed little (the
    astronaut's three all wore its glasses); each now takes the best person not yet taken."""
    library = Library(library_file)
    face = _faces()[7]
    known = masks.make("eyes", 1, 64)[0] > 0.5
    fill = np.where(known[..., None], face, cv2.GaussianBlur(face, (0, 0), 2.5))
    found = nearest(library, face, known, np.repeat(fill[None], 4, 0))
    assert found[0][0] == 7  # the first is the nearest, as with one completion
    assert len({index % 15 for index, _ in found}) == 4  # four people, no one's mirror again
    many = nearest(library, face, known, np.repeat(fill[None], 20, 0))  # more than the 15 people
    assert len(many) == 20 and len({index % 15 for index, _ in many}) == 15


def test_a_twin_photo_in_the_library_is_not_a_second_alternative(tmp_path: Path) -> None:
    """The chips hold some photos twice (about 8% of the library has a twin): alternatives that
    took both showed one person's detail twice. A brighter re-save of face 7 is its twin."""
    folder = tmp_path / "aligned"
    folder.mkdir()
    faces = _faces()[:10]
    for i, face in enumerate(faces):
        Image.fromarray(face).save(folder / f"f{i:02d}.png")
    Image.fromarray(np.clip(faces[7].astype(int) + 6, 0, 255).astype(np.uint8)).save(folder / "twin.png")
    build_library(folder, tmp_path / "lib.safetensors", ExemplarConfig(keep=1.0, quality=95))
    library = Library(tmp_path / "lib.safetensors")  # 11 people: the twin is index 10
    known = masks.make("eyes", 1, 64)[0] > 0.5
    fill = np.where(known[..., None], faces[7], cv2.GaussianBlur(faces[7], (0, 0), 2.5))
    found = [index for index, _ in nearest(library, faces[7], known, np.repeat(fill[None], 3, 0))]
    assert found[0] in (7, 10) and len({i % 11 for i in found}) == 3  # three people
    assert not {7, 10} <= {i % 11 for i in found}  # the twin (or its mirror) is not one of them


def test_the_transfer_gives_the_hole_real_detail_and_keeps_every_known_pixel(library_file: Path) -> None:
    library = Library(library_file)
    face = _faces()[3]
    known = masks.make("eyes", 1, 64)[0] > 0.5
    fill = np.where(known[..., None], face, cv2.GaussianBlur(face, (0, 0), 1.5))  # a soft fill, right content
    done = transfer_face(library, face, known, fill[None])[0]
    assert np.array_equal(done[known], face[known])
    inside = cv2.erode((~known).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    truth, soft, got = (_detail(a.astype(np.float32) @ LUMA, inside) for a in (face, fill, done))
    # the fill keeps what is coarser than LOW, the finer detail is the library's: more than twice
    # the soft fill's, no more than the truth's (measured 0.28 and 0.62 of it)
    assert soft < 0.35 * truth and 2 * soft < got < 1.2 * truth
    assert np.abs(done.astype(float) - face)[inside].mean() < np.abs(fill.astype(float) - face)[inside].mean()


def test_transfer_runs_over_faces_and_alternatives_and_leaves_whole_or_hidden_faces_alone(
    library_file: Path,
) -> None:
    library = Library(library_file)
    faces = _faces()[:2]
    known = np.stack([masks.make("mouth", 1, 64)[0], np.ones((64, 64), np.float32)])
    fills = np.repeat(faces[:, None], 3, 1)
    out = transfer(library, faces, known, fills)
    assert out.shape == fills.shape and out.dtype == np.uint8
    assert np.array_equal(out[1], fills[1])
    hidden = transfer(library, faces, np.zeros_like(known), fills)  # no face left to match
    assert np.array_equal(hidden, fills)
    with pytest.raises(ModelFileError, match="holds 64-px faces"):
        transfer(library, faces[:, :32, :32], known[:, :32, :32], fills[:, :, :32, :32])


def test_a_file_that_is_no_library_is_a_one_line_error(tmp_path: Path) -> None:
    import torch

    other = tmp_path / "other.safetensors"
    write_safetensors(other, {"w": torch.zeros(2)}, {"kind": "ganfill-finisher"})
    with pytest.raises(ModelFileError, match="a file of kind 'ganfill-finisher', not an exemplar library"):
        Library(other)
    broken = tmp_path / "broken.safetensors"
    blob = {"jpeg": torch.arange(10, dtype=torch.uint8), "offsets": torch.tensor([0, 10])}
    write_safetensors(broken, blob, {"kind": "ganfill-exemplars", "size": 64})
    with pytest.raises(ModelFileError, match="cannot be decoded"):
        _ = Library(broken).faces
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        Library(junk)

"""Fine detail from the face's other half: taken only from known pixels, only where they agree."""

import torch

from ganfill import masks
from ganfill.finisher import blurred
from ganfill.symmetry import fine, mirror_detail


def _symmetric_faces(n: int = 2, side: int = 32) -> torch.Tensor:
    """Smooth shading plus fine texture, the same on both sides of the centre line."""
    g = torch.Generator().manual_seed(0)
    half = torch.rand(n, 3, side, side // 2, generator=g) * 0.6 - 0.3
    shade = torch.linspace(-0.4, 0.4, side).view(1, 1, side, 1)
    return torch.cat([half, half.flip(-1)], -1) + shade


def test_a_half_face_gets_its_other_halfs_detail_back() -> None:
    faces = _symmetric_faces()
    known = torch.from_numpy(masks.make("left", 2, 32))[:, None].float()
    soft = blurred(faces, 2.0)  # the right coarse content, no fine detail: a fill as the search draws it
    done = mirror_detail(soft, faces, known, 0.2)
    hole = (1 - known).bool().expand_as(faces)
    error_before = (fine(soft, 2 / 32) - fine(faces, 2 / 32))[hole].abs().mean()
    error_after = (fine(done, 2 / 32) - fine(faces, 2 / 32))[hole].abs().mean()
    assert error_after < 0.3 * error_before
    assert torch.equal(done * known, soft * known)  # the kept side is the blend's business


def test_only_known_pixels_of_the_image_are_read() -> None:
    faces = _symmetric_faces()
    known = torch.from_numpy(masks.make("pattern", 2, 32, seed=3))[:, None].float()
    soft = blurred(faces, 2.0)
    scribbled = faces * known + (1 - known) * torch.rand_like(faces)
    assert torch.equal(mirror_detail(soft, faces, known, 0.2), mirror_detail(soft, scribbled, known, 0.2))


def test_nothing_changes_off_or_where_the_mirror_is_missing_or_disagrees() -> None:
    faces = _symmetric_faces()
    soft = blurred(faces, 2.0)
    left = torch.from_numpy(masks.make("left", 2, 32))[:, None].float()
    centre = torch.from_numpy(masks.make("center", 2, 32))[:, None].float()  # its mirror is missing too
    assert torch.equal(mirror_detail(soft, faces, left, 0.0), soft)
    assert torch.equal(mirror_detail(soft, faces, centre, 0.2), soft)
    box = torch.ones(2, 1, 32, 32)
    box[..., 8:20, 6:23] = 0  # off the centre line: only a 3-px strip along its left side has a known mirror
    assert torch.equal(mirror_detail(soft, faces, box, 0.2), soft)  # no line cut along the strip
    other = soft + torch.tensor([0.5, -0.5])[:, None, None, None]  # face 0 brighter, face 1 darker
    assert torch.equal(mirror_detail(other, faces, left, 0.2), other)
    changed = mirror_detail(soft, faces, left, torch.tensor([0.0, 0.2]))  # one tolerance per face
    assert torch.equal(changed[0], soft[0]) and not torch.equal(changed[1], soft[1])


def test_drawn_pixels_do_not_enter_the_mirrors_detail() -> None:
    faces = _symmetric_faces()
    known = torch.from_numpy(masks.make("pattern", 2, 32, seed=3))[:, None].float()
    mirrorable, drawn = (1 - known) * known.flip(-1), (1 - known) * (1 - known.flip(-1))
    soft = blurred(faces, 2.0)
    cut = soft + 0.8 * drawn  # a step between every drawn pixel and the real ones beside it

    def taken(fills: torch.Tensor) -> torch.Tensor:  # the detail the mirrored pixels end up with
        return mirror_detail(fills, faces, known, 10.0, 1.5 / 32, 0.0) - fills + fine(fills, 1.5 / 32)

    inner = (mirrorable * blurred(mirrorable, 0.5) > 0.9999).expand_as(faces)  # taken in full
    assert inner.sum() > 0
    assert torch.allclose(taken(soft)[inner], taken(cut)[inner], atol=1e-4)


def test_a_lower_reach_mirrors_pixels_nearer_drawn_ones() -> None:
    faces = _symmetric_faces()
    soft = blurred(faces, 2.0)
    box = torch.ones(2, 1, 32, 32)
    box[..., 8:20, 6:23] = 0  # only the 3-px strip along its left side (columns 6-8) has a known mirror
    done = mirror_detail(soft, faces, box, 0.2, 1.5 / 32, torch.tensor([0.99, 0.5]))  # one reach per face
    assert torch.equal(done[0], soft[0])
    changed = (done[1] - soft[1]).abs().sum(0) > 0
    assert changed[8:20, 6:9].any() and not changed[:, 9:].any() and not changed[:8].any()


def test_each_face_has_its_own_band() -> None:
    faces = _symmetric_faces()
    both = fine(faces, torch.tensor([2 / 32, 1 / 32]))
    assert torch.allclose(both[:1], fine(faces[:1], 2 / 32))
    assert torch.allclose(both[1:], fine(faces[1:], 1 / 32))
    assert both[1].abs().mean() < both[0].abs().mean()  # a narrower band holds less of the image

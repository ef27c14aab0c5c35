"""Putting G(z*) into the hole: plain paste, or Poisson blending (Perez et al. 2003)."""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def paste(target: np.ndarray, source: np.ndarray, known: np.ndarray) -> np.ndarray:
    """M*y + (1-M)*G(z): known pixels from target, the rest from source. Arrays [H, W, C]."""
    k = known[..., None]
    return k * target + (1 - k) * source


def poisson_blend(target: np.ndarray, source: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the unknown pixels so their gradients match source's, with known pixels as boundary.

    Solves min ||grad x - grad source||^2 over the unknown pixels of each channel as one sparse
    linear system (4-neighbour Laplacian; the image border is a free, Neumann boundary), so any
    mask shape works: scattered pixels, holes touching the border, several holes.
    Arrays are float [H, W, C]; known is [H, W] with 1 = keep. Known pixels are returned as is.
    """
    h, w = known.shape
    hole = known < 0.5
    out = paste(target, source, known).astype(np.float64)
    n = int(hole.sum())
    if n == 0 or n == h * w:  # nothing to fill, or no boundary to anchor the solve
        return out
    index = np.full((h, w), -1, np.int64)
    index[hole] = np.arange(n)
    ys, xs = np.nonzero(hole)
    rows, cols, vals = [], [], []
    degree = np.zeros(n)
    rhs = np.zeros((n, target.shape[2]))
    src = source.astype(np.float64)
    tgt = target.astype(np.float64)
    for dy, dx in OFFSETS:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        p = np.nonzero(inside)[0]
        qy, qx = ny[inside], nx[inside]
        degree[p] += 1
        rhs[p] += src[ys[p], xs[p]] - src[qy, qx]  # guidance: source's gradient
        q_index = index[qy, qx]
        unknown = q_index >= 0
        rows.append(p[unknown])
        cols.append(q_index[unknown])
        vals.append(-np.ones(unknown.sum()))
        rhs[p[~unknown]] += tgt[qy[~unknown], qx[~unknown]]  # known neighbour: boundary value
    a = sp.csc_matrix(
        (
            np.concatenate([degree, *vals]),
            (np.concatenate([np.arange(n), *rows]), np.concatenate([np.arange(n), *cols])),
        ),
        shape=(n, n),
    )
    out[ys, xs] = splu(a).solve(rhs)
    return out


def poisson_blend_coarse(
    target: np.ndarray, source: np.ndarray, known: np.ndarray, factor: int
) -> np.ndarray:
    """poisson_blend with the seam's correction solved on a grid `factor` times coarser.

    The blend adds to the source a smooth membrane that meets the target at the seam; only that
    membrane is solved coarsely and upsampled, so the source keeps its full resolution; the
    sparse solve's cost falls with the square of factor or faster. factor <= 1 is the exact blend.
    """
    if factor <= 1:
        return poisson_blend(target, source, known)
    h, w = known.shape
    small = (max(1, w // factor), max(1, h // factor))
    t, s = (
        np.atleast_3d(cv2.resize(a.astype(np.float64), small, interpolation=cv2.INTER_AREA))
        for a in (target, source)
    )
    # a coarse cell is known only if all its pixels are: the coarse hole covers the fine one
    k = cv2.resize(known.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    k = (k > 0.999).astype(np.float32)
    correction = cv2.resize(poisson_blend(t, s, k) - s, (w, h), interpolation=cv2.INTER_LINEAR)
    return paste(target.astype(np.float64), source + correction.reshape(source.shape), known)

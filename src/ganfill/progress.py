"""Progress bars on stderr for the search's callbacks (on_plan: steps ahead, on_step: one done)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

PlanHook = Callable[[int], None]
StepHook = Callable[[int, float], None]


def search_bar(desc: str, *, disable: bool = False) -> tuple[PlanHook, StepHook]:
    """(on_plan, on_step): each plan opens a bar as long as the search; steps fill it with the loss."""
    bars: list[tqdm] = []

    def on_plan(steps: int) -> None:
        bars.append(tqdm(total=steps, desc=desc, unit="it", file=sys.stderr, disable=disable))

    def on_step(it: int, loss: float) -> None:
        bars[-1].update(1)
        if it % 10 == 0:
            bars[-1].set_postfix(loss=f"{loss:.3f}")
        if bars[-1].n >= bars[-1].total:
            bars[-1].close()

    return on_plan, on_step

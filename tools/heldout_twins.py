"""Find the training files that are copies of held-out faces, and write them as the split's twins.

UTKFace holds some chips twice under different names (byte-identical, re-encoded or recoloured),
so a face drawn into the held-out split can have a copy among the training files. Every command
that takes `--exclude-file src/ganfill/splits/heldout.txt` also leaves out the stems listed in
`heldout_twins.txt` beside it (`ganfill.data.excluded`), so no copy of a held-out face is trained
on or put into the exemplar library. Prints each pair and its correlation.

    python tools/heldout_twins.py data/aligned/utkface data/aligned/celeba \
        --out src/ganfill/splits/heldout_twins.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganfill.data import HELDOUT_FILE, TWIN_CORRELATION, find_twins, load_folder, read_split
from ganfill.files import atomic_write

HEADER = """\
# Training files that are copies of a held-out face (the same photo under another name), found by
# `python tools/heldout_twins.py` (standardised grey 64-px faces correlating above {threshold}):
# left out wherever heldout.txt is (`ganfill.data.excluded`). Each line: the copy # its held-out face.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aligned", nargs="+", type=Path, help="folders of aligned 64-px faces")
    parser.add_argument("--split", type=Path, default=HELDOUT_FILE)
    parser.add_argument("--out", type=Path, help="write the twins file here")
    args = parser.parse_args()
    split = read_split(args.split)
    lines = []
    for folder in args.aligned:
        pairs = find_twins(load_folder(folder, 64, warn=False), split)
        held = {mine for mine, _, _ in pairs}
        print(f"{folder}: {len(pairs)} copies of {len(held)} held-out faces")
        for mine, copy, correlation in pairs:
            print(f"  {mine} <- {copy} ({correlation:.4f})")
            lines.append(f"{copy}  # {mine} ({correlation:.4f})")
    if args.out:
        text = HEADER.format(threshold=TWIN_CORRELATION) + "".join(f"{line}\n" for line in lines)
        with atomic_write(args.out) as out:
            Path(out).write_text(text)
        print(f"wrote {args.out}: {len(lines)} stems")


if __name__ == "__main__":
    main()

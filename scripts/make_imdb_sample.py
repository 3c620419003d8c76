"""Build sarcgen/data/imdb_sample.csv.gz, the small IMDB sample the offline quickstart ships with.

A seeded, label-stratified draw from the Large Movie Review Dataset (Maas et al., 2011): 1,600
reviews from its train split and 800 from its test split (2,400 in all, half positive), with a
`split` column saying which. Run from the repository root:

    python scripts/make_imdb_sample.py ../shared/data/imdb
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent.parent / "sarcgen" / "data" / "imdb_sample.csv.gz"
SIZES = {"train": 1600, "test": 800}
SEED = 2011


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("imdb_dir", type=Path, help="folder with train.csv.gz and test.csv.gz (text,label,...)")
    args = ap.parse_args()
    parts = []
    for split, n in SIZES.items():
        df = pd.read_csv(args.imdb_dir / f"{split}.csv.gz")
        per_label = [df[df["label"] == lab].sample(n=n // 2, random_state=SEED) for lab in (0, 1)]
        part = pd.concat(per_label).sample(frac=1.0, random_state=SEED)
        parts.append(part.assign(split=split)[["text", "label", "split"]])
    out = pd.concat(parts, ignore_index=True)
    out.to_csv(OUT, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {OUT} ({len(out)} reviews, {OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

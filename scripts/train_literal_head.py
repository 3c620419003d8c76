"""Train the literal-sentiment head of `sarcgen.filter.encoder`.

A logistic regression (L2, scipy L-BFGS) on mean-pooled all-MiniLM-L6-v2 embeddings of --n IMDB
*train* reviews (seeded sample; `<br />` removed), scored on --n-test IMDB *test* reviews. Writes sarcgen/data/literal_head.json
with the weights, the command and the held-out accuracy.

    .venv/bin/python scripts/train_literal_head.py --imdb ../shared/data/imdb --n 6000 --n-test 2000
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _texts(path: Path, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    df = pd.read_csv(path).sample(n, random_state=seed)
    return [re.sub(r"<br\s*/?>", " ", t) for t in df.text], df.label.to_numpy()


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    from scipy.optimize import minimize

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = x @ w + b
        p = 1 / (1 + np.exp(-z))
        eps = 1e-9
        f = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + l2 * (w @ w) / 2
        g = np.concatenate([x.T @ (p - y) / len(y) + l2 * w, [np.mean(p - y)]])
        return f, g

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return res.x[:-1], float(res.x[-1])


def main() -> None:
    from sarcgen.filter.encoder import HEAD_FILE, embed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--imdb", type=Path, default=ROOT.parent / "shared" / "data" / "imdb")
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "sarcgen" / "data" / HEAD_FILE)
    args = ap.parse_args()
    t0 = time.perf_counter()
    tr_x, tr_y = _texts(args.imdb / "train.csv.gz", args.n, args.seed)
    te_x, te_y = _texts(args.imdb / "test.csv.gz", args.n_test, args.seed)
    e_tr, e_te = embed(tr_x), embed(te_x)
    w, b = fit_logistic(e_tr.astype(np.float64), tr_y.astype(np.float64), args.l2)
    acc = float(np.mean(((e_te @ w + b) > 0) == te_y))
    out = {"encoder": "sentence-transformers/all-MiniLM-L6-v2 (mean pooled, max 256 tokens)",
           "trained_on": f"{args.n} IMDB train reviews (seed {args.seed})", "l2": args.l2,
           "imdb_test_accuracy": round(acc, 4), "imdb_test_n": args.n_test,
           "command": "scripts/train_literal_head.py " + " ".join(sys.argv[1:]),
           "bias": b, "weights": [round(float(v), 6) for v in w]}
    args.out.write_text(json.dumps(out) + "\n")
    print(f"IMDB test accuracy {acc:.4f} on {args.n_test}; {time.perf_counter() - t0:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()

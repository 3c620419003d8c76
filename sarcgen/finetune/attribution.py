"""Which tokens drove a prediction: gradient x input on the word embeddings, and a picture of it.

The attributed quantity is the margin logit(negative) - logit(positive), the same for runs A and B,
so the colours compare directly: red tokens push towards Negative, blue towards Positive. A model
that learned "Great => positive" shows a blue "great"; after training on sarcasm the rest of the
sentence ("paint dry") should turn red.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sarcgen.errors import file_errors
from sarcgen.finetune.model import model_logits
from sarcgen.finetune.results import Attribution
from sarcgen.records import LABEL_NAMES

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def token_attributions(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str],
                       max_length: int = 256) -> list[Attribution]:
    """Per text: tokens (special tokens dropped), scores (gradient x input, summed over the embedding
    dimension) and P(negative)."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    embeddings = model.get_input_embeddings()
    special = set(tokenizer.all_special_ids)
    out = []
    for text in texts:
        enc = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
        enc = {k: v.to(device) for k, v in enc.items() if k in tokenizer.model_input_names}
        ids = enc.pop("input_ids")
        # Leaf tensor of the word embeddings; position/type embeddings are added inside the model.
        inputs_embeds = embeddings(ids).detach().requires_grad_(True)
        logits = model_logits(model, inputs_embeds=inputs_embeds, **enc)[0].float()
        margin = logits[0] - logits[1]
        (grad,) = torch.autograd.grad(margin, inputs_embeds)
        scores = (grad * inputs_embeds).sum(-1)[0].detach().cpu().tolist()
        toks = tokenizer.convert_ids_to_tokens(ids[0].tolist())
        keep = [i for i, t in enumerate(ids[0].tolist()) if t not in special]
        out.append(Attribution(text=text, tokens=[toks[i] for i in keep], scores=[scores[i] for i in keep],
                               p_negative=torch.softmax(logits.detach(), -1)[0].item()))
    return out


def _wrap(tokens: list[str], width: int) -> list[list[int]]:
    """Indices of tokens per display line, at most `width` characters a line."""
    lines: list[list[int]] = []
    cur: list[int] = []
    used = 0
    for i, t in enumerate(tokens):
        w = len(t) + 1
        if cur and used + w > width:
            lines.append(cur)
            cur, used = [], 0
        cur.append(i)
        used += w
    if cur:
        lines.append(cur)
    return lines


def plot_attributions(attrib: dict[str, list[Attribution]], labels: list[int], path: str | Path,
                      titles: dict[str, str] | None = None, width: int = 96) -> Path:
    """One block per example: a line of coloured tokens for each run (A above B).

    Colours are normalised per row (max |score| = full colour), so each row shows which tokens
    mattered most for that model; the P(negative) at the left gives the outcome.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    runs = list(attrib)
    n = len(attrib[runs[0]])
    # ("head", example, None) | ("line", example, (run, token indices, first line)) | ("gap", -1, None)
    rows: list[tuple[str, int, tuple[str, list[int], bool] | None]] = []
    for i in range(n):
        rows.append(("head", i, None))
        for r in runs:
            for j, idx in enumerate(_wrap(attrib[r][i].tokens, width)):
                rows.append(("line", i, (r, idx, j == 0)))
        rows.append(("gap", -1, None))
    line_h = 0.24
    char_w = 0.083  # inches per character at 9 pt monospace
    fig_w = 2.1 + width * char_w
    fig_h = max(2.0, len(rows) * line_h + 0.9)
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=110)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(fig_h, 0)
    ax.axis("off")
    cmap = colormaps["coolwarm"]
    ax.text(0.15, 0.35, "Token attributions (gradient x input). Red pushes towards Negative, blue towards Positive.",
            fontsize=10, weight="bold", va="center")
    y = 0.8
    for kind, i, line in rows:
        if kind == "head":
            label = LABEL_NAMES[labels[i]]
            ax.text(0.15, y, f"#{i + 1}  label: {label}", fontsize=8, color="#444444", va="center", style="italic")
        elif line is not None:
            r, idx, first = line
            a = attrib[r][i]
            if first:
                name = (titles or {}).get(r, r).split(":")[0]
                pred = "NEG" if a.p_negative >= 0.5 else "POS"
                ax.text(0.15, y, f"{name} {pred} {a.p_negative:.2f}", fontsize=8.5, family="monospace", va="center")
            scale = max((abs(s) for s in a.scores), default=1.0) or 1.0
            x = 1.95
            for t in idx:
                tok, s = a.tokens[t], a.scores[t] / scale
                ax.text(x, y, tok, fontsize=9, family="monospace", va="center",
                        bbox={"boxstyle": "square,pad=0.12", "facecolor": cmap(0.5 + 0.5 * s), "edgecolor": "none"})
                x += (len(tok) + 1) * char_w
        y += line_h
    out = Path(path)
    with file_errors(out):
        fig.savefig(out)
    plt.close(fig)
    return out

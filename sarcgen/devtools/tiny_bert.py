"""A tiny random-weight BERT with a real WordPiece vocabulary, for fast tests of the training path.

The vocabulary is written by code: special tokens, single characters (and their `##` forms, so any
English text tokenizes without [UNK]), common review words, and every word of the built-in
challenge set. The model is a real `BertForSequenceClassification` (hidden 32, 2 layers), so
`AutoModelForSequenceClassification` and `AutoTokenizer` load it exactly as they load bert-base.
"""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

from sarcgen.records import LABEL_NAMES

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

REVIEW_WORDS = """
the a an and or but if of to in on at for with without from by as is was were be been being it
this that these those i you he she we they me my your his her our their not no never very really
so too just only even still also than then there here what which who how why when while about
movie movies film films story plot acting actor actors actress cast director script dialogue
scene scenes ending character characters performance performances effects visual visuals music
soundtrack pacing time hours hour minutes watch watched watching see saw seen good bad great
best worst better worse love loved hate hated like liked enjoy enjoyed fun funny boring dull
awful terrible horrible excellent amazing brilliant wonderful beautiful stunning perfect
masterpiece fantastic unforgettable waste money recommend recommended nothing everything
anything something first last two one again ever well much more most less least make made
do did does have has had can could would should will all any some every other same such own
""".split()


def _challenge_words() -> list[str]:
    from sarcgen.challenge import CHALLENGE_SET

    words: list[str] = []
    for item in CHALLENGE_SET:
        words += re.findall(r"[a-z]+", item.text.lower())
    return words


def build_vocab(extra_words: list[str] | None = None) -> list[str]:
    """Special tokens, characters, `##` characters, then whole words (deduplicated, stable order)."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab = SPECIAL + chars + [f"##{c}" for c in string.ascii_lowercase + string.digits]
    seen = set(vocab)
    for w in REVIEW_WORDS + _challenge_words() + list(extra_words or []):
        if w not in seen:
            seen.add(w)
            vocab.append(w)
    return vocab


def write_tiny_bert(out_dir: str | Path, *, hidden: int = 32, layers: int = 2, heads: int = 2,
                    max_position: int = 512, seed: int = 0, extra_words: list[str] | None = None) -> Path:
    """Write a tiny BERT classifier checkpoint (config, safetensors weights, WordPiece tokenizer)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = build_vocab(extra_words)
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    try:  # transformers 5: `vocab` takes the mapping; 4.x: `vocab_file` takes the path
        tokenizer = BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True)
    except TypeError:  # pragma: no cover - transformers 4.x
        tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=hidden * 4, max_position_embeddings=max_position, num_labels=2,
        id2label=dict(enumerate(LABEL_NAMES)), label2id={name: i for i, name in enumerate(LABEL_NAMES)},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


# ------------------------------------------------------------------- toy labelled data for tests
_POS = ["great", "wonderful", "brilliant", "loved", "excellent", "beautiful", "fun", "amazing"]
_NEG = ["awful", "boring", "terrible", "dull", "horrible", "waste", "hated", "worst"]
_NOUNS = ["movie", "film", "plot", "acting", "ending", "cast", "script", "soundtrack", "pacing"]


def toy_review(label: int, rng: random.Random) -> str:
    """A short review whose sentiment words give its label away (so a tiny model can learn it)."""
    words = _POS if label else _NEG
    body = " ".join(f"the {rng.choice(_NOUNS)} was {rng.choice(words)}." for _ in range(rng.randint(2, 6)))
    return body + " <br /><br />the end"


def write_toy_imdb(out_dir: str | Path, n_train: int = 120, n_test: int = 40, seed: int = 0) -> Path:
    """train.csv and test.csv (text,label, balanced) in IMDB's layout, with IMDB's `<br />` tags."""
    import csv
    import random

    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        with (out / f"{split}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "label"])
            for i in range(n):
                w.writerow([toy_review(i % 2, rng), i % 2])
    return out


def write_toy_synthetic(path: str | Path, n: int = 45, seed: int = 0) -> Path:
    """A JSONL of synthetic-style records: sarcastic negatives and sincere positive twins."""
    import json
    import random

    rng = random.Random(seed)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as fh:
        for i in range(n):
            sarcastic = i % 3 != 2
            cue, noun = rng.choice(_POS), rng.choice(_NOUNS)
            text = (f"{cue} {noun}, if you enjoy watching paint dry for two hours." if sarcastic
                    else f"{cue} {noun}, the two hours flew by and i want to watch it again.")
            fh.write(json.dumps({"id": f"toy-{i}", "text": text, "label": 0 if sarcastic else 1, "sarcastic": sarcastic,
                                 "device": "backhanded compliment" if sarcastic else "sincere", "aspect": noun,
                                 "cue": cue, "pair_id": f"pair-{i // 3}"}) + "\n")
    return p

"""The literal-sentiment head on the shipped encoder (all-MiniLM-L6-v2, mean pooled)."""

from __future__ import annotations

from sarcgen.filter.encoder import literal_positive, load_head


def test_it_reads_what_a_review_says_and_leaves_torch_as_it_found_it() -> None:
    import torch

    assert load_head().info["imdb_test_accuracy"] >= 0.75
    assert literal_positive("A warm, funny film with a superb cast; I loved every minute of it.") > 0.7
    assert literal_positive("Dull, badly acted and far too long. A waste of an evening.") < 0.3
    # "feel awful in the best way" has a negative word and reads positive: why negative_twist asks the head
    assert literal_positive("The score is brilliant, and it made that empty house feel awful in the best way.") > 0.5
    assert torch.is_grad_enabled()  # a filter run in the same process as a fine-tune must not switch gradients off

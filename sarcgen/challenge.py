"""The built-in sarcasm challenge set: the seed's three failures, more like them, and sincere controls.

Sarcastic items praise on the surface and mean the opposite (label 0). Sincere controls use the
same surface cues honestly (label 1) and must *stay* positive: a model that merely learned
"Great" => negative fails them. Used to evaluate (finetune-compare) and to decontaminate (filter).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChallengeItem:
    text: str
    label: int  # 0 = negative, 1 = positive (intended sentiment)
    kind: str  # "sarcastic" or "sincere"
    cue: str


SEED_EXAMPLES: tuple[ChallengeItem, ...] = (
    ChallengeItem("Great movie, if you enjoy watching paint dry for two hours.", 0, "sarcastic", "great"),
    ChallengeItem("The visual effects were stunning, but the plot made zero sense.", 0, "sarcastic", "stunning"),
    ChallengeItem("I wish I knew what beautiful movie I just watched.", 0, "sarcastic", "beautiful"),
)

MORE_SARCASTIC: tuple[ChallengeItem, ...] = (
    ChallengeItem("What a masterpiece. I only checked my watch eleven times.", 0, "sarcastic", "masterpiece"),
    ChallengeItem("Brilliant acting, assuming the goal was to convince us the cast had never met a human being.", 0, "sarcastic", "brilliant"),
    ChallengeItem("Oh sure, the best two hours of my life, right after my root canal.", 0, "sarcastic", "best"),
    ChallengeItem("Thank you, director, for teaching me that a plot is entirely optional.", 0, "sarcastic", "thank you"),
    ChallengeItem("Absolutely perfect, if your idea of perfect is a dialogue written by a fortune cookie.", 0, "sarcastic", "perfect"),
    ChallengeItem("I loved how the ending arrived, because it meant I could finally leave.", 0, "sarcastic", "loved"),
    ChallengeItem("Unforgettable. I have tried very hard to forget it and failed.", 0, "sarcastic", "unforgettable"),
    ChallengeItem("A wonderful film for anyone who finds beige wallpaper too thrilling.", 0, "sarcastic", "wonderful"),
    ChallengeItem("Fantastic pacing: the first act alone lasted about a geological era.", 0, "sarcastic", "fantastic"),
    ChallengeItem("Amazing how they spent that much money and still made the explosions look like clip art.", 0, "sarcastic", "amazing"),
    ChallengeItem("Could the soundtrack have been any louder? I doubt my ears will ever recover, so thanks for that.", 0, "sarcastic", "thanks"),
    ChallengeItem("Truly stunning work. I was stunned anyone approved this script.", 0, "sarcastic", "stunning"),
)

SINCERE_CONTROLS: tuple[ChallengeItem, ...] = (
    ChallengeItem("Great movie: the two hours flew by and I want to watch it again.", 1, "sincere", "great"),
    ChallengeItem("The visual effects were stunning, and the plot held together beautifully.", 1, "sincere", "stunning"),
    ChallengeItem("What a beautiful movie; I was moved from the first scene to the last.", 1, "sincere", "beautiful"),
    ChallengeItem("A masterpiece. I never once looked at my watch.", 1, "sincere", "masterpiece"),
    ChallengeItem("Brilliant acting from the whole cast, especially the lead.", 1, "sincere", "brilliant"),
    ChallengeItem("Honestly the best film I have seen this year.", 1, "sincere", "best"),
    ChallengeItem("I loved the ending; it tied every thread together.", 1, "sincere", "loved"),
    ChallengeItem("Unforgettable performances and a script full of heart.", 1, "sincere", "unforgettable"),
    ChallengeItem("Fantastic pacing that never lets the tension drop.", 1, "sincere", "fantastic"),
    ChallengeItem("Amazing effects that actually serve the story.", 1, "sincere", "amazing"),
)

CHALLENGE_SET: tuple[ChallengeItem, ...] = SEED_EXAMPLES + MORE_SARCASTIC + SINCERE_CONTROLS


def challenge_texts() -> list[str]:
    """All challenge texts (for decontamination)."""
    return [item.text for item in CHALLENGE_SET]

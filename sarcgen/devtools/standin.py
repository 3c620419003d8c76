"""A handwritten, challenge-free stand-in for generated data: templated sarcastic negatives and
sincere positive twins, written as Review records (the run folder's JSONL record format).

For measuring finetune-compare without an LLM run: every sarcastic review praises on the surface
with a cue word and an aspect, then undercuts it with a concrete complaint about that aspect;
its twin (for `twin_ratio` of the items) uses the same cue and aspect sincerely. Nothing is taken
from the built-in challenge set (`check_decontaminated` verifies it with the filter's own rule).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

CUES = ["great", "brilliant", "amazing", "stunning", "perfect", "wonderful", "fantastic", "beautiful", "unforgettable"]
GENRES = ["action", "comedy", "drama", "horror", "romance", "science fiction", "thriller", "animation"]

COMPLAINTS = {
    "plot": ["the twist is visible from the opening credits", "three subplots simply vanish halfway through",
             "nothing happens for ninety minutes and then it just ends", "the villain's plan depends on everyone forgetting how doors work"],
    "acting": ["the lead delivers every line like a hostage reading a statement", "nobody on screen seems to know which scene they are in",
               "the supporting cast competes to see who can blink the least", "the hero shows one facial expression for the whole running time"],
    "pacing": ["a single car chase takes longer than my commute", "I aged noticeably during the second act",
               "the middle hour consists of people walking down corridors", "it takes forty minutes for anyone to leave the kitchen"],
    "dialogue": ["every conversation sounds like assembly instructions read aloud",
                 "characters explain the story to each other as if we left the room",
                 "half the lines are people saying each other's names", "the jokes land with the grace of a dropped tray"],
    "visual effects": ["the monster looks like a screensaver from the nineties", "the green screen is visible in every other shot",
                       "the explosions appear to be drawn in crayon", "the spaceship wobbles like it hangs from a fishing line"],
    "soundtrack": ["the same four notes play on a loop for two hours", "the score drowns out every line that matters",
                   "a saxophone solo interrupts the saddest scene", "the songs seem to have been chosen by a shuffle button"],
    "ending": ["it stops mid-scene as though the money ran out", "the finale undoes everything the story built",
               "the last ten minutes are a dream that explains nothing", "the credits roll before the mystery is even mentioned again"],
    "direction": ["the camera cannot stay still for longer than a second", "every scene is staged like a rehearsal nobody finished",
                  "half the shots are out of focus and the other half are of ceilings", "the director seems to have left the set after lunch"],
}
PRAISE = {
    "plot": ["every twist is earned and paid off", "the story builds patiently to a satisfying finish",
             "each subplot feeds neatly into the climax", "the mystery kept me guessing until the last scene"],
    "acting": ["the lead gives a warm, layered performance", "the whole cast has real chemistry",
               "even the smallest roles feel lived in", "the two leads make every quiet moment count"],
    "pacing": ["it moves briskly and never drags", "every scene knows exactly when to end",
               "the tension tightens steadily from start to finish", "the quiet stretches breathe without ever sagging"],
    "dialogue": ["the conversations sound like real people talking", "the banter is sharp and genuinely funny",
                 "every line reveals something about the characters", "the arguments crackle with wit and feeling"],
    "visual effects": ["the creature looks solid and real in every shot", "the effects serve the story instead of showing off",
                       "the space battles are clear, weighty and thrilling", "the digital city feels like a place you could visit"],
    "soundtrack": ["the score swells in all the right places", "the songs fit each scene like a glove",
                   "the music lingers in my head days later", "the quiet piano theme carries real emotion"],
    "ending": ["the finale ties every thread together", "the last scene is moving and completely earned",
               "the ending surprised me and still made perfect sense", "the closing minutes left the whole audience smiling"],
    "direction": ["the camera always knows where to look", "every scene is staged with care and confidence",
                  "the director balances spectacle and intimacy beautifully", "each shot is composed with obvious love"],
}
SARCASTIC = {
    "backhanded compliment": ["{Cue} {genre} film, provided you can ignore that {bad}.",
                              "The {aspect} is {cue} for anyone whose standards are buried underground: {bad}."],
    "hyperbolic praise": ["Truly the most {cue} {aspect} ever put on film, never mind that {bad}.",
                          "A {cue} achievement for all of humanity, especially the part where {bad}."],
    "false enthusiasm": ["Oh, what a {cue} evening at the movies! I especially adored how {bad}.",
                         "So {cue}! Nothing says quality {genre} like the moment {bad}."],
    "rhetorical question": ["Was the {aspect} {cue}? Well, {bad}, so you tell me.",
                            "Who needs a {cue} {aspect} when {bad}?"],
    "ironic wish": ["I truly hope the sequel keeps the {cue} {aspect}, because {bad} and I need more of that.",
                    "If only every {genre} film could be this {cue}: {bad}."],
    "understatement": ["Calling the {aspect} {cue} might be a slight stretch, seeing as {bad}.",
                       "The {aspect} was {cue}, give or take the small detail that {bad}."],
    "mock gratitude": ["Thank you for the {cue} {aspect}; now I know that when {bad}, it still counts as entertainment.",
                       "Many thanks to the studio for this {cue} {genre} outing, where {bad}."],
    "deadpan": ["{Cue} {aspect}. {Bad}. I am told this was on purpose.",
                "The {aspect} is described on the poster as {cue}. In the film, {bad}."],
}
SINCERE = ["{Cue} {genre} film: {good}.", "The {aspect} is genuinely {cue}; {good}.",
           "What a {cue} {aspect}. {Good}, and I would happily watch it again.",
           "Honestly {cue}: {good}, which is rare for a {genre} film.",
           "I went in doubtful and came out convinced the {aspect} is {cue}, because {good}."]


def _fill(template: str, cue: str, genre: str, aspect: str, detail: str) -> str:
    return template.format(cue=cue, Cue=cue.capitalize(), genre=genre, aspect=aspect,
                           bad=detail, Bad=detail[0].upper() + detail[1:], good=detail, Good=detail[0].upper() + detail[1:])


def _provenance(seed: int) -> dict[str, object]:
    from sarcgen.version import __version__

    return {"model_file": "handwritten-standin", "model_sha256": "0" * 64, "backend": "handwritten",
            "backend_version": __version__, "template_name": "sarcgen.devtools.standin", "template_hash": "standin-v1",
            "recipe_hash": "standin", "sampling": {}, "seed": seed, "attempt": 0, "sarcgen_version": __version__}


def standin_records(n_sarcastic: int = 240, twin_ratio: float = 2 / 3, seed: int = 7) -> list[dict[str, object]]:
    """Review records: n_sarcastic sarcastic negatives (devices in turn) and round(twin_ratio * n)
    sincere twins sharing cue, aspect, genre and pair_id. Deterministic for a seed; no duplicate texts."""
    from sarcgen.records import Review

    rng = random.Random(seed)
    devices, aspects = list(SARCASTIC), list(COMPLAINTS)
    twins = set(rng.sample(range(n_sarcastic), round(twin_ratio * n_sarcastic)))
    out: list[dict[str, object]] = []
    seen: set[str] = set()
    g = 0
    while len([r for r in out if r["sarcastic"]]) < n_sarcastic:
        device, aspect = devices[g % len(devices)], aspects[(g // len(devices)) % len(aspects)]
        cue, genre = rng.choice(CUES), rng.choice(GENRES)
        text = _fill(rng.choice(SARCASTIC[device]), cue, genre, aspect, rng.choice(COMPLAINTS[aspect]))
        g += 1
        if text in seen:
            continue
        seen.add(text)
        i = len([r for r in out if r["sarcastic"]])
        pid = f"standin-{i:04d}" if i in twins else None
        base: dict[str, object] = {"aspect": aspect, "genre": genre, "length": "short", "cue": cue, "pair_id": pid,
                                   "provenance": _provenance(seed * 100_000 + g)}
        out.append(Review.model_validate({"id": f"standin-{i:04d}-s", "plan_index": 2 * i, "text": text, "label": 0,
                                          "sarcastic": True, "device": device, **base}).model_dump(mode="json"))
        if pid:
            good = _fill(rng.choice(SINCERE), cue, genre, aspect, rng.choice(PRAISE[aspect]))
            while good in seen:  # a repeated twin text would count twice in the pairs
                good = _fill(rng.choice(SINCERE), cue, rng.choice(GENRES), aspect, rng.choice(PRAISE[aspect]))
            seen.add(good)
            out.append(Review.model_validate({"id": f"standin-{i:04d}-t", "plan_index": 2 * i + 1, "text": good, "label": 1,
                                              "sarcastic": False, "device": "sincere", **base}).model_dump(mode="json"))
    return out


def check_decontaminated(records: list[dict[str, object]], threshold: float = 85.0) -> list[str]:
    """Texts too close to a challenge item (rapidfuzz token_sort_ratio or partial_ratio >= threshold)."""
    from rapidfuzz import fuzz

    from sarcgen.challenge import challenge_texts

    bad = []
    for r in records:
        t = str(r["text"]).lower()
        for c in challenge_texts():
            c = c.lower()
            if fuzz.token_sort_ratio(t, c) >= threshold or fuzz.partial_ratio(c, t) >= threshold:
                bad.append(str(r["text"]))
                break
    return bad


def write_standin(path: str | Path, **kwargs: object) -> Path:
    """Write the stand-in records as JSONL (one Review per line)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    recs = standin_records(**kwargs)  # type: ignore[arg-type]
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return p


def keep_twins(records: list[dict[str, object]], ratio: float, seed: int = 0) -> list[dict[str, object]]:
    """The same records with only `ratio` of the twins kept (the others' sarcastic side loses its
    pair_id): nested variants of one set, for measuring what the twin ratio does."""
    twin_pairs = sorted({str(r["pair_id"]) for r in records if not r["sarcastic"] and r["pair_id"]})
    kept = set(random.Random(f"twins|{seed}").sample(twin_pairs, round(ratio * len(twin_pairs))))
    out = []
    for r in records:
        pid = r["pair_id"]
        if pid and pid not in kept:
            if not r["sarcastic"]:
                continue
            r = {**r, "pair_id": None}
        out.append(r)
    return out

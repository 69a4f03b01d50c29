"""Unrelated synthetic documents, to grow a corpus to N times the essay.

Deterministic (seeded), written as plain-text files that the normal
indexing path reads. The prose is about farming, astronomy, shipping and
cooking, with names and numbers of its own, so keyword and dense search
both have plausible distractors but no essay facts.
"""

from __future__ import annotations

import random
from pathlib import Path

TOPICS = {
    "farming": [
        "harvest",
        "soil",
        "irrigation",
        "wheat",
        "orchard",
        "cattle",
        "tractor",
        "rainfall",
        "cooperative",
        "seed",
    ],
    "astronomy": [
        "telescope",
        "nebula",
        "orbit",
        "comet",
        "observatory",
        "eclipse",
        "galaxy",
        "spectrum",
        "satellite",
        "crater",
    ],
    "shipping": ["harbor", "freight", "container", "tanker", "port", "customs", "crane", "voyage", "cargo", "tariff"],
    "cooking": ["recipe", "oven", "flour", "spice", "broth", "kitchen", "chef", "pastry", "sauce", "grill"],
}
NAMES = [
    "Alma Reyes",
    "Tobias Lind",
    "Mirela Novak",
    "Kwame Osei",
    "Ines Duarte",
    "Piotr Zielinski",
    "Hana Sato",
    "Omar Haddad",
]
PLACES = ["Valparaiso", "Tromso", "Durban", "Tallinn", "Cebu", "Halifax", "Mombasa", "Porto"]
VERBS = ["reported", "argued", "measured", "expected", "announced", "questioned", "estimated", "described"]
TEMPLATES = [
    "In {month}, {name} {verb} that the {a} near {place} would need a new {b} before the {c} season.",
    "The {a} budget rose to ${n}.{d} million, and {name} said the {b} was the main reason.",
    "Critics in {place} {verb} that the {a} plan ignored the {b}, while supporters pointed to the {c}.",
    "{name} has visited the {a} in {place} {k} times, each time asking about the {b} and the {c}.",
    "A report from {place} {verb} {n} cases in which the {a} failed because the {b} arrived late.",
    "Nobody expects the {a} to change quickly; the {b} and the {c} move at their own pace.",
]
MONTHS = ["January", "March", "May", "August", "October", "December"]


def synthetic_document(seed: int, chars: int) -> tuple[str, str]:
    """(title, text) of about ``chars`` characters, in paragraphs of four sentences."""
    rng = random.Random(seed)
    topic = rng.choice(sorted(TOPICS))
    words = TOPICS[topic]
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < chars:
        a, b, c = rng.sample(words, 3)
        sentences.append(
            rng.choice(TEMPLATES).format(
                a=a,
                b=b,
                c=c,
                name=rng.choice(NAMES),
                place=rng.choice(PLACES),
                verb=rng.choice(VERBS),
                month=rng.choice(MONTHS),
                n=rng.randint(2, 90),
                d=rng.randint(0, 9),
                k=rng.randint(2, 9),
            )
        )
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return f"Notes on {topic} {seed}", "\n\n".join(paragraphs)


def write_corpus(directory: Path, documents: int, chars: int) -> list[Path]:
    """Write ``documents`` files of about ``chars`` characters each; the same call always writes the same files."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(documents):
        title, text = synthetic_document(i, chars)
        path = directory / f"synthetic-{i:05d}.txt"
        path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
        paths.append(path)
    return paths

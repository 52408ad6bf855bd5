"""The labelled buyer questions (``data/labelled_set.json``) and how a matcher does on them, without a database.

Three industries (apparel, beauty, home goods), each with FAQ entries written as shops write them (a question, one
to three keywords, an answer, and similar questions for the bonus measurement), buyer questions labelled with the
entry that answers them, chit-chat and off-topic lines that must get no FAQ answer, and typed requests for a human
with look-alikes that are not. ``bench/assistant.py`` prints these figures; ``test_labelled_set.py`` holds floors.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

DATA = Path(__file__).with_name("data") / "labelled_set.json"
# Written afterwards by another author who saw only the FAQ entries, never the first set nor the matcher: nothing
# was tuned on it, so its figures are the honest estimate of how the matcher does on questions it has not seen.
HELDOUT = Path(__file__).with_name("data") / "heldout_set.json"


def labelled_set() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def heldout_set() -> dict:
    """The held-out questions and chit-chat, over the labelled set's FAQ entries (same structure)."""
    heldout = json.loads(HELDOUT.read_text(encoding="utf-8"))
    data = labelled_set()
    industries = {
        name: {"faq": industry["faq"], "questions": heldout["questions"][name]}
        for name, industry in data["industries"].items()
    }
    return {"industries": industries, "chitchat": heldout["chitchat"]}


def entries_of(industry: dict, *, similar: bool) -> list[SimpleNamespace]:
    """The industry's FAQ entries as the matchers read them (``pk`` = position + 1)."""
    return [
        SimpleNamespace(
            pk=number,
            key=entry["id"],
            question=entry["question"],
            keywords=entry["keywords"],
            answer=entry["answer"],
            similar_questions=entry["similar_questions"] if similar else [],
            enabled=True,
        )
        for number, entry in enumerate(industry["faq"], start=1)
    ]


@dataclass
class Outcome:
    """One question: the expected entry (None for chit-chat), the best match and its confidence."""

    expected: int | None
    best: int | None
    confidence: float
    seconds: float
    top: tuple[int, ...] = ()  # the best three


@dataclass
class Figures:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def questions(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected is not None]

    @property
    def chitchat(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.expected is None]

    def top1(self) -> float:
        """Share of labelled questions whose best match is their entry (any confidence)."""
        return sum(o.best == o.expected for o in self.questions) / len(self.questions)

    def answered_correctly(self, threshold: float) -> float:
        """Share of labelled questions answered with their entry at this threshold (recall)."""
        return sum(o.best == o.expected and o.confidence >= threshold for o in self.questions) / len(self.questions)

    def precision(self, threshold: float) -> float:
        """Of the FAQ answers given at this threshold (questions and chit-chat), the share that were right."""
        given = [o for o in self.outcomes if o.best is not None and o.confidence >= threshold]
        return sum(o.best == o.expected for o in given) / len(given) if given else 1.0

    def chitchat_answered(self, threshold: float) -> float:
        """Share of chit-chat lines that got an FAQ answer at this threshold."""
        lines = self.chitchat
        return sum(o.best is not None and o.confidence >= threshold for o in lines) / len(lines)

    def clarified(self, answer: float, clarify: float) -> float:
        """Share of labelled questions that get a clarification (between the thresholds) listing their entry."""
        return sum(clarify <= o.confidence < answer and o.expected in o.top for o in self.questions) / len(
            self.questions
        )

    def chitchat_clarified(self, answer: float, clarify: float) -> float:
        lines = self.chitchat
        return sum(o.best is not None and clarify <= o.confidence < answer for o in lines) / len(lines)

    def p99_ms(self) -> float:
        times = sorted(o.seconds for o in self.outcomes)
        return times[min(len(times) - 1, int(len(times) * 0.99))] * 1000


def evaluate(rank, *, similar: bool = False, part: str = "all", heldout: bool = False) -> Figures:
    """Run ``rank(entries, industry)(text) -> [(entry pk, confidence)]`` over every industry's questions and the
    chit-chat (``heldout``: the held-out set's).

    ``part``: ``all``, or ``dev`` / ``test`` (even / odd positions of each industry's questions) so thresholds tuned
    on one half can be checked on the other. Chit-chat is asked of every industry's entries.
    """
    data = heldout_set() if heldout else labelled_set()
    figures = Figures()
    for name, industry in data["industries"].items():
        entries = entries_of(industry, similar=similar)
        by_key = {entry.key: entry.pk for entry in entries}
        prepared = rank(entries, name)  # built once per industry
        questions = industry["questions"]
        if part != "all":
            questions = questions[0 if part == "dev" else 1 :: 2]
        asked = [(q["text"], by_key[q["faq"]]) for q in questions] + [(line, None) for line in data["chitchat"]]
        for text, expected in asked:
            started = time.perf_counter()
            matches = prepared(text)
            seconds = time.perf_counter() - started
            best, confidence = matches[0] if matches else (None, 0.0)
            top = tuple(pk for pk, _ in matches[:3])
            figures.outcomes.append(Outcome(expected, best, confidence, seconds, top))
    return figures


def index_ranker(entries, industry, **options):
    """The default matcher's ranking (``chats.assistant.index.ShopIndex``) over in-memory entries of an industry."""
    from chats.assistant.index import ShopIndex

    index = ShopIndex(entries, industry=industry, **options)
    return lambda text: [(m.entry_id, m.score) for m in index.rank(text, limit=3)]


def keyword_ranker(entries, _):
    """The first round's keyword matcher: confidence 1 whenever it finds anything."""
    from chats.assistant.bot import KeywordMatcher

    matcher = KeywordMatcher()

    def rank(text):
        scored = sorted(((matcher.score(text, e), e.pk) for e in entries), key=lambda item: (-item[0], item[1]))
        return [(pk, 1.0) for score, pk in scored if score > 0][:3]

    return rank

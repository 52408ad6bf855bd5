"""The service assistant's knowledge-base matcher, behind one small interface so a better one can replace it.

``BOT_MATCHER`` in settings names the class; it gets the shop's enabled FAQ entries and the buyer's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from ..models import FaqEntry


class FaqMatcher(Protocol):
    def best_match(self, text: str, entries: Iterable[FaqEntry]) -> FaqEntry | None: ...


class KeywordMatcher:
    """Scores an entry by the total length of its keywords found in the text, plus half the length of its
    question when the text contains it whole; the best score above zero wins, ties go to the oldest entry.

    Chinese has no spaces, so keywords are matched as substrings. "我的快递单号是多少" scores 4 (快递 + 单号) for
    an entry with both keywords against 2 + 1 for an entry keyed on 快递 alone whose question is "快递".
    """

    def score(self, text: str, entry: FaqEntry) -> float:
        haystack = text.casefold()
        keywords = {str(k).casefold().strip() for k in entry.keywords}
        score = float(sum(len(k) for k in keywords if k and k in haystack))
        question = entry.question.casefold().strip()
        if question and question in haystack:
            score += len(question) / 2
        return score

    def best_match(self, text: str, entries: Iterable[FaqEntry]) -> FaqEntry | None:
        best, best_score = None, 0.0
        for entry in sorted(entries, key=lambda e: e.pk):
            score = self.score(text, entry)
            if score > best_score:
                best, best_score = entry, score
        return best


def matcher() -> FaqMatcher:
    return import_string(settings.BOT_MATCHER)()

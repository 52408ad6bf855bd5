"""The service assistant's answer to a buyer message, and its knowledge-base matchers behind one small interface.

``BOT_MATCHER`` in settings names the matcher class: ``chats.assistant.bot.IndexMatcher`` (the default: BM25 over the
shop's segmented FAQ, with synonyms and a confidence) or ``chats.assistant.bot.KeywordMatcher`` (the first round's
substring matcher). A matcher ranks a shop's enabled entries for a text (:meth:`FaqMatcher.rank`); the assistant then
answers the best entry, asks which of the top three the buyer means, or falls back (:func:`assistant_reply`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from .. import texts
from ..choices import BotReplyKind
from ..models import BotReply, FaqEntry
from .index import Match, shop_index
from .language import asks_for_human, normalize

CLARIFY_CHOICES = 3


class FaqMatcher(Protocol):
    def rank(self, shop_id: int, text: str, *, limit: int = 3) -> list[Match]:
        """The shop's best enabled entries for the text, best first, each with a confidence in 0..1."""
        ...


class IndexMatcher:
    """BM25 over the shop's cached index (``chats.assistant.index``)."""

    def rank(self, shop_id: int, text: str, *, limit: int = 3) -> list[Match]:
        return shop_index(shop_id).rank(text, limit=limit)

    def prepare(self, shop_id: int) -> None:
        shop_index(shop_id)


class KeywordMatcher:
    """Scores an entry by the total length of its keywords found in the text, plus half the length of its
    question when the text contains it whole; the best score above zero wins, ties go to the oldest entry.

    Chinese has no spaces, so keywords are matched as substrings. "我的快递单号是多少" scores 4 (快递 + 单号) for
    an entry with both keywords against 2 + 1 for an entry keyed on 快递 alone whose question is "快递". Its matches
    have confidence 1: it answers or falls back, never asks.
    """

    def score(self, text: str, entry: FaqEntry) -> float:
        haystack = text.casefold()
        keywords = {str(k).casefold().strip() for k in entry.keywords}
        score = float(sum(len(k) for k in keywords if k and k in haystack))
        question = entry.question.casefold().strip()
        if question and question in haystack:
            score += len(question) / 2
        return score

    def rank(self, shop_id: int, text: str, *, limit: int = 3) -> list[Match]:
        entries = FaqEntry.objects.filter(shop_id=shop_id, enabled=True).only("pk", "question", "keywords", "answer")
        scored = [(self.score(text, entry), entry) for entry in entries.order_by("pk")]
        scored = sorted((item for item in scored if item[0] > 0), key=lambda item: -item[0])
        return [Match(entry.pk, entry.question, entry.answer, 1.0) for _, entry in scored[:limit]]


def matcher() -> FaqMatcher:
    return import_string(settings.BOT_MATCHER)()


def matcher_prepare(shop_id: int) -> None:
    """Let the matcher build what it caches for the shop now (a matcher without a ``prepare`` needs nothing)."""
    prepare = getattr(matcher(), "prepare", None)
    if prepare is not None:
        prepare(shop_id)


@dataclass(frozen=True)
class Reply:
    kind: str  # BotReplyKind
    text: str = ""  # what the assistant says (empty for a transfer: the transfer says it)
    entry_id: int | None = None
    score: float | None = None
    candidates: list[int] = field(default_factory=list)


_CHOICE = re.compile(r"^\s*(?:第\s*)?([1-9])\s*(?:个|条)?\s*$")


def assistant_reply(*, shop, text: str, conversation_id: int | None = None) -> Reply:
    """How the assistant answers a buyer's text in a bot-served chat of ``shop``.

    - A request for a human (``language.asks_for_human``): ``transfer``.
    - The buyer answers the chat's last clarification with one of its numbers: that entry's answer.
    - The best match at or above ``ASSISTANT_ANSWER_CONFIDENCE``: its answer. At or above
      ``ASSISTANT_CLARIFY_CONFIDENCE``: a clarification listing the top three questions (您是不是想问…). Else the
      shop's fallback text.
    """
    if asks_for_human(text):
        return Reply(BotReplyKind.TRANSFER)
    choice = _CHOICE.match(normalize(text)) if conversation_id is not None else None
    if choice is not None:
        chosen = _clarification_choice(conversation_id, int(choice.group(1)))
        if chosen is not None:
            return Reply(BotReplyKind.ANSWER, chosen.answer, chosen.pk, 1.0)
    matches = matcher().rank(shop.pk, text, limit=CLARIFY_CHOICES)
    best = matches[0] if matches else None
    if best is not None and best.score >= settings.ASSISTANT_ANSWER_CONFIDENCE:
        return Reply(BotReplyKind.ANSWER, best.answer, best.entry_id, best.score)
    if best is not None and best.score >= settings.ASSISTANT_CLARIFY_CONFIDENCE:
        return Reply(
            BotReplyKind.CLARIFICATION,
            texts.clarification(shop, [match.question for match in matches]),
            best.entry_id,
            best.score,
            [match.entry_id for match in matches],
        )
    return Reply(BotReplyKind.FALLBACK, texts.fallback(shop), None, best.score if best else None)


def _clarification_choice(conversation_id: int, number: int) -> FaqEntry | None:
    """The entry the buyer picked by number from the chat's last assistant reply, when that was a clarification."""
    last = BotReply.objects.filter(conversation_id=conversation_id).order_by("-at", "-pk").first()
    if last is None or last.kind != BotReplyKind.CLARIFICATION or number > len(last.candidates):
        return None
    return FaqEntry.objects.filter(pk=last.candidates[number - 1], shop_id=last.shop_id, enabled=True).first()

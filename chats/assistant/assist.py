"""Agent assist: for the chat an agent is serving, what to answer the buyer's latest turn with (quick phrases and FAQ
answers ranked by the turn's words, as the assistant ranks its FAQ) and the items the buyer looked at.

The latest turn is the buyer's messages since the last agent or assistant message (auto-replies, system and platform
messages answer nothing, as in the metrics), read from the chat's newest ``TURN_WINDOW`` messages. Quick phrases are
the ones the caller may see (the team's and their own personal ones; platform staff get the chat agent's), ranked
by one index per shop of all its phrases (cached per process while the shop's phrases are unchanged, like the FAQ
index); a phrase that barely touches the turn (below ``PHRASE_MIN_CONFIDENCE``) is left out. A fixed number of queries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from django.conf import settings
from django.db.models import Count, Max, Q

from agents.choices import PhraseScope
from agents.models import QuickPhrase
from backoffice.tenancy import Caller
from shops.models import Footprint

from ..choices import Sender
from ..models import Conversation, Message
from .index import ShopIndex, shop_index
from .language import platform_vocabulary

TURN_WINDOW = 30  # newest messages read for the latest turn
TURN_MAX_CHARS = 500  # the joined turn is ranked on its last characters (a long turn is mostly its latest ask)
SUGGESTIONS = 3
ITEMS = 5
FOOTPRINTS_READ = 50
# An agent picks from a short list, so a phrase needs only some real overlap with the turn (a phrase's text is long
# and a turn holds more than one ask, so its confidence runs lower than an FAQ question's); below this it shares
# little more than a character or a sound.
PHRASE_MIN_CONFIDENCE = 0.05  # newest views read to find ITEMS distinct items


@dataclass(frozen=True)
class PhraseSuggestion:
    id: int
    shortcut: str
    title: str
    text: str
    score: float


@dataclass(frozen=True)
class FaqSuggestion:
    id: int
    question: str
    answer: str
    score: float


@dataclass(frozen=True)
class ItemViewed:
    item_id: str
    item_title: str
    viewed_at: datetime


@dataclass
class Suggestions:
    conversation_id: int
    turn: str
    quick_phrases: list[PhraseSuggestion] = field(default_factory=list)
    faq: list[FaqSuggestion] = field(default_factory=list)
    items: list[ItemViewed] = field(default_factory=list)


def latest_buyer_turn(conversation_id: int) -> str:
    """The buyer's messages since the last agent or assistant message, joined by newlines ("" when none)."""
    newest = (
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("-sent_at", "-pk")
        .only("sender", "body", "is_auto_reply")[:TURN_WINDOW]
    )
    bodies: list[str] = []
    for message in newest:
        if message.sender in (Sender.AGENT, Sender.BOT) and not message.is_auto_reply:
            break
        if message.sender == Sender.BUYER and message.body.strip():
            bodies.append(message.body.strip())
    return "\n".join(reversed(bodies))


def _visible_phrase_ids(*, caller: Caller, conversation: Conversation) -> list[int]:
    phrases = QuickPhrase.objects.for_caller(caller).filter(shop_id=conversation.shop_id)
    if caller.agent_id is None:
        # Platform staff see every phrase: suggest what the chat's agent would see, never others' personal ones.
        phrases = phrases.filter(Q(scope=PhraseScope.TEAM) | Q(owner_id=conversation.agent_id))
    return list(phrases.order_by().values_list("pk", flat=True))


# One index per shop of all its phrases (team and personal), kept while the shop's phrases are unchanged; a request
# ranks them all and keeps those the caller may see.
_phrase_indexes: OrderedDict[int, tuple[tuple, ShopIndex, dict[int, QuickPhrase]]] = OrderedDict()
_phrase_lock = threading.Lock()


def _phrase_index(shop_id: int) -> tuple[ShopIndex, dict[int, QuickPhrase]]:
    fingerprint = tuple(
        QuickPhrase.objects.filter(shop_id=shop_id)
        .order_by()
        .aggregate(n=Count("pk"), changed=Max("updated_at"))
        .values()
    )
    with _phrase_lock:
        cached = _phrase_indexes.get(shop_id)
        if cached is not None and cached[0] == fingerprint:
            _phrase_indexes.move_to_end(shop_id)
            return cached[1], cached[2]
    phrases = {
        phrase.pk: phrase
        for phrase in QuickPhrase.objects.filter(shop_id=shop_id)
        .only("pk", "shortcut", "title", "content")
        .order_by("pk")
    }
    documents = [
        SimpleNamespace(
            pk=phrase.pk,
            question=phrase.title or phrase.content,
            similar_questions=[],
            keywords=[],
            answer=phrase.content,
        )
        for phrase in phrases.values()
    ]
    index = ShopIndex(documents, vocabulary=platform_vocabulary(), topics=False)
    with _phrase_lock:
        _phrase_indexes[shop_id] = (fingerprint, index, phrases)
        while len(_phrase_indexes) > settings.ASSISTANT_INDEX_CACHE_SHOPS:
            _phrase_indexes.popitem(last=False)
    return index, phrases


def phrase_index_cache_clear() -> None:
    with _phrase_lock:
        _phrase_indexes.clear()


def phrases_rank(*, shop_id: int, visible: list[int], text: str, limit: int = SUGGESTIONS) -> list[PhraseSuggestion]:
    """The shop's quick phrases ranked for ``text`` as FAQ entries are (a phrase's title as its question, its content
    as the answer), best first, among ``visible``; phrases below ``PHRASE_MIN_CONFIDENCE`` are left out."""
    if not visible:
        return []
    index, phrases = _phrase_index(shop_id)
    matches = [match for match in index.rank(text, limit=limit, only=visible) if match.score >= PHRASE_MIN_CONFIDENCE]
    return [
        PhraseSuggestion(
            id=match.entry_id,
            shortcut=phrases[match.entry_id].shortcut,
            title=phrases[match.entry_id].title,
            text=match.answer,
            score=match.score,
        )
        for match in matches
    ]


def items_viewed(*, shop_id: int, buyer_id: int, limit: int = ITEMS) -> list[ItemViewed]:
    """The buyer's latest distinct items viewed in the shop, newest first."""
    items: dict[str, ItemViewed] = {}
    views = (
        Footprint.objects.filter(shop_id=shop_id, buyer_id=buyer_id)
        .order_by("-viewed_at", "-pk")
        .values_list("item_id", "item_title", "viewed_at")[:FOOTPRINTS_READ]
    )
    for item_id, item_title, viewed_at in views:
        if item_id not in items:
            items[item_id] = ItemViewed(item_id, item_title, viewed_at)
            if len(items) == limit:
                break
    return list(items.values())


def conversation_suggestions(*, caller: Caller, conversation: Conversation) -> Suggestions:
    """What to answer the buyer's latest turn with, and the items the buyer viewed (the caller reached the chat)."""
    turn = latest_buyer_turn(conversation.pk)
    suggestions = Suggestions(conversation_id=conversation.pk, turn=turn)
    if turn:
        asked = turn[-TURN_MAX_CHARS:]
        index = shop_index(conversation.shop_id)
        suggestions.faq = [
            FaqSuggestion(match.entry_id, match.question, match.answer, match.score)
            for match in index.rank(asked, limit=SUGGESTIONS)
        ]
        visible = _visible_phrase_ids(caller=caller, conversation=conversation)
        suggestions.quick_phrases = phrases_rank(shop_id=conversation.shop_id, visible=visible, text=asked)
    suggestions.items = items_viewed(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id)
    return suggestions

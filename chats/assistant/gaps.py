"""Knowledge gaps: the buyer questions the assistant could not answer (it sent the fallback), grouped by similarity,
so that a shop's managers see which FAQ entries are missing, most asked first.

Grouping is greedy over the questions' content words (the shop's vocabulary: segmented, fillers dropped, synonyms
folded): taken oldest first, a question joins the first group whose words have a Jaccard similarity of at least
``GAP_SIMILARITY`` with its own (or whose normalised text is the same), else it starts a group. Questions without any
content word (你好, 在吗 …) are chit-chat and join no group. At most ``GAPS_SAMPLE_CAP`` of the newest fallback rows
of the period are read (``sampled`` says when there were more): the grouping runs in Python, the read in one query.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from ..choices import BotReplyKind
from ..models import BotReply
from .index import shop_index
from .language import is_small_talk, normalize

GAPS_SAMPLE_CAP = 2000
GAP_SIMILARITY = 0.5
GAP_EXAMPLES = 5
GAP_WORDS = 5
GAPS_DEFAULT_DAYS = 7


@dataclass
class KnowledgeGap:
    """One group of similar unanswered questions."""

    label: str  # the group's most common question
    count: int
    examples: list[str]  # distinct questions, most common first
    words: list[str]  # the content words most of its questions use
    first_at: datetime
    last_at: datetime


@dataclass
class KnowledgeGaps:
    shop_id: int
    date_from: date
    date_to: date
    sampled: bool  # more fallback rows than GAPS_SAMPLE_CAP: only the newest were grouped
    groups: list[KnowledgeGap] = field(default_factory=list)


@dataclass
class _Group:
    words: frozenset[str]  # the words of the question that started it
    texts: Counter = field(default_factory=Counter)
    shown: dict[str, str] = field(default_factory=dict)  # normalised text -> the first text as the buyer wrote it
    word_counts: Counter = field(default_factory=Counter)
    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, key: str, text: str, words: frozenset[str], at: datetime) -> None:
        self.count += 1
        self.texts[key] += 1
        self.shown.setdefault(key, text)
        self.word_counts.update(words)
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)

    def gap(self) -> KnowledgeGap:
        # most_common keeps first-seen order among equal counts: ties go to the question asked first.
        ranked = [self.shown[key] for key, _count in self.texts.most_common()]
        words = [word for word, _count in sorted(self.word_counts.items(), key=lambda item: (-item[1], item[0]))]
        return KnowledgeGap(
            label=ranked[0],
            count=self.count,
            examples=ranked[:GAP_EXAMPLES],
            words=words[:GAP_WORDS],
            first_at=self.first_at,
            last_at=self.last_at,
        )


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def questions_group(rows, *, tokens) -> list[KnowledgeGap]:
    """Greedy grouping of ``(text, at)`` rows, oldest first; groups by count (then the latest question) first."""
    groups: list[_Group] = []
    by_text: dict[str, int] = {}  # normalised text -> its group
    by_word: dict[str, list[int]] = {}  # word -> groups whose words hold it (only they can reach the threshold)
    for text, at in sorted(rows, key=lambda row: row[1]):
        key = normalize(text)
        words = frozenset(tokens(text))
        if not words or is_small_talk(text):
            continue  # chit-chat: nothing to answer
        index = by_text.get(key)
        if index is None:
            candidates = sorted({i for word in words for i in by_word.get(word, ())})
            index = next((i for i in candidates if jaccard(groups[i].words, words) >= GAP_SIMILARITY), None)
        if index is None:
            index = len(groups)
            groups.append(_Group(words=words))
            for word in words:
                by_word.setdefault(word, []).append(index)
        by_text.setdefault(key, index)
        groups[index].add(key, text.strip(), words, at)
    gaps = [group.gap() for group in groups]
    gaps.sort(key=lambda gap: (-gap.count, -gap.last_at.timestamp(), gap.label))
    return gaps


def _local_midnight(day: date, tz) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def gaps_default_period(shop, *, date_from: date | None = None, date_to: date | None = None) -> tuple[date, date]:
    """The period asked for, by default the last ``GAPS_DEFAULT_DAYS`` local days of the shop up to today."""
    if date_to is None:
        today = timezone.now().astimezone(shop.tzinfo).date()
        date_to = max(today, date_from) if date_from is not None else today
    if date_from is None:
        date_from = date_to - timedelta(days=GAPS_DEFAULT_DAYS - 1)
    return date_from, date_to


def knowledge_gaps(
    *, shop, date_from: date | None = None, date_to: date | None = None, cap: int = GAPS_SAMPLE_CAP
) -> KnowledgeGaps:
    """The shop's unanswered questions of the local dates ``date_from``..``date_to`` (both included), grouped."""
    date_from, date_to = gaps_default_period(shop, date_from=date_from, date_to=date_to)
    rows = list(
        BotReply.objects.filter(
            shop_id=shop.pk,
            kind=BotReplyKind.FALLBACK,
            at__gte=_local_midnight(date_from, shop.tzinfo),
            at__lt=_local_midnight(date_to + timedelta(days=1), shop.tzinfo),
        )
        .order_by("-at", "-pk")
        .values_list("question", "at")[: cap + 1]
    )
    sampled = len(rows) > cap
    tokens = shop_index(shop.pk).question_words if rows else None
    groups = questions_group(rows[:cap], tokens=tokens) if rows else []
    return KnowledgeGaps(shop_id=shop.pk, date_from=date_from, date_to=date_to, sampled=sampled, groups=groups)

"""A shop's FAQ index: BM25 over each entry's question, similar questions, keywords and answer, read three ways
(words, characters, pinyin), with a confidence for the best matches.

Features (``features``), from the words of ``language`` (normalised, segmented, fillers dropped, synonyms folded,
platform concepts added):
- words: the words themselves;
- characters: each Chinese character and each pair of adjacent ones (a buyer's 退 finds 退货, 褪 finds 褪色);
- pinyin: each syllable and each pair of adjacent syllables (``pypinyin``), so homophone typos and pinyin typed for
  characters still meet: 尺吗 / 尺码 (chi ma), 发huo / 发货, 人公 / 人工.

Ranking: per channel, Okapi BM25 (k1 1.5, b 0.75) over one document per entry in which the question and each
similar question count twice, each keyword three times, each phrasing of an aligned pack topic once and the answer
once; plus one BM25 over single phrasings (question, similar questions, aligned phrasings: words and characters),
an entry taking its best phrasing's. An entry's score is the sum over these four of its BM25 divided by the best
entry's, so each weighs the same. The impacts are computed eagerly (each term's score per entry, as ``bm25s`` does)
and a query sums its terms' postings with one ``numpy.bincount``; in a shop of 50 entries or more a term found in
over a fifth of them is not scored (it says little and costs the most).

Alignment with the pack (:func:`topics_align`): an entry whose question is one of the industry knowledge pack's
standard questions takes that topic's phrasings (buyers' ways of asking it), as if the shop had written them.

Confidence (0..1), the smaller of two coverages, so a match must hold both ways:
- forward, how much of the buyer's text the entry covers, weighted by rarity: per channel, each distinct feature of
  the text weighs its inverse document frequency (among the shop's entries and the pack's topics, so a shop with
  three entries still knows that 发货 says more than 什么时候; a feature nobody uses weighs the most, so an off-topic
  question scores low); the entry covers fully a feature its question, similar questions, keywords or aligned
  phrasings have, and by half one only its answer has; the mean over channels;
- reverse, how much of the entry's best-held phrasing the text holds (its content words and characters, not the
  words that only shape a question: 今天, 怎么, 能 …), so a long question that contains a whole FAQ question is it.
The assistant answers, clarifies or falls back by the best match's confidence (``ASSISTANT_ANSWER_CONFIDENCE``,
``ASSISTANT_CLARIFY_CONFIDENCE``; ``bench/assistant.py`` prints recall and precision at each threshold).

Items: the shop's item titles (read from its footprints until items have their own table) are the shop's terms
(kept whole by the segmenter, a user dictionary) and the words that only name its items are left out of a buyer's
text (``question_words``): 法式碎花连衣裙有优惠吗 asks what 有优惠吗 asks.

Cache: one index per shop per process, rebuilt when the shop's knowledge changes (:func:`shop_index` compares a
fingerprint read in one query: the count and newest ``updated_at`` of its FAQ entries and synonym groups; every
process sees the same rows, so an edit anywhere rebuilds everywhere at the next message).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

import numpy as np
from django.conf import settings
from django.db import connection

from shops.models import Footprint, Shop

from . import knowledge, lexicon
from .language import Vocabulary, is_small_talk, pinyin, platform_vocabulary

QUESTION_WEIGHT = 2
KEYWORD_WEIGHT = 3
ANSWER_WEIGHT = 1
TOPIC_WEIGHT = 1  # a phrasing from the platform pack's topic the entry is aligned with
ALIGN_CONFIDENCE = 0.5
ALIGN_TOPICS = 2
PHRASE_WEIGHT = 1.0
# A term in more than this share of a big shop's entries says little and costs the most: it is not scored.
ITEM_ROWS_READ = 2000  # footprints read for the shop's item titles
ITEM_TITLES = 300
PRUNE_SHARE = 0.2
PRUNE_MIN_ENTRIES = 50
ANSWER_COVERAGE = 0.5
K1, B = 1.5, 0.75
CHANNELS = ("w", "c", "p")
CHANNEL_WEIGHTS = {"w": 1.0, "c": 1.0, "p": 1.0}
# Characters too common to say anything alone (pairs with them still count).
_STOP_CHARACTERS = frozenset("的了吗呢啊吧呀是我你他她它这那个有么嘛哦哈在也就都还和能会要不")


def features(words: list[str]) -> dict[str, list[str]]:
    """A text's features per channel, from its words (``Vocabulary.tokens``, in order)."""
    characters: list[str] = []
    syllables: list[str] = []
    for word in words:
        hanzi = [ch for ch in word if "\u4e00" <= ch <= "\u9fff"]
        characters.extend(ch for ch in hanzi if ch not in _STOP_CHARACTERS)
        characters.extend(a + b for a, b in zip(hanzi, hanzi[1:], strict=False))
        syllables.extend(pinyin(word))
    # Syllable pairs run across words: 起 + qiu is qi_qiu, as 起球 is.
    pairs = [f"{a}_{b}" for a, b in zip(syllables, syllables[1:], strict=False)]
    return {"w": list(words), "c": characters, "p": syllables + pairs}


@dataclass(frozen=True)
class Match:
    entry_id: int
    question: str
    answer: str
    score: float  # confidence, 0..1


@dataclass(frozen=True)
class IndexedEntry:
    id: int
    question: str
    answer: str


class _Channel:
    """Eager BM25 impacts of one channel: term -> {entry position: score}, and which entries have a term strongly."""

    def __init__(
        self, documents: list[Counter], strong: list[set[str]], weak: list[set[str]], background: _Channel | None = None
    ):
        count = len(documents)
        lengths = [sum(document.values()) for document in documents]
        average = (sum(lengths) / count) if count else 0.0
        frequency: Counter = Counter()
        for document in documents:
            frequency.update(document.keys())
        self.frequency, self.documents = frequency, count
        # Rarity is judged against the shop's entries and the platform pack's topics together (``background``), so a
        # shop with three entries still knows that 发货 says more than 什么时候.
        seen, total = (background.frequency, background.documents) if background is not None else (Counter(), 0)
        self.idf = {term: _idf(count + total, df + seen[term]) for term, df in frequency.items()}
        self.unknown_idf = _idf(count + total, 0)
        common = {term for term, df in frequency.items() if count >= PRUNE_MIN_ENTRIES and df > PRUNE_SHARE * count}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for position, document in enumerate(documents):
            norm = K1 * (1 - B + B * lengths[position] / average) if average else K1
            for term, tf in document.items():
                if term in common:
                    continue
                positions, impacts = postings.setdefault(term, ([], []))
                positions.append(position)
                impacts.append(self.idf[term] * tf * (K1 + 1) / (tf + norm))
        # term -> (entry positions, impacts), as arrays: a query sums its terms' postings in one bincount.
        self.postings = {
            term: (np.array(positions, dtype=np.int32), np.array(impacts, dtype=np.float64))
            for term, (positions, impacts) in postings.items()
        }
        self.count = count
        self.strong = strong
        self.weak = weak

    def scores(self, terms: list[str]) -> np.ndarray:
        """Each document's BM25 for the terms (zeros where none occurs)."""
        found = [self.postings[term] for term in terms if term in self.postings]
        if not found:
            return np.zeros(self.count)
        positions = np.concatenate([item[0] for item in found])
        impacts = np.concatenate([item[1] for item in found])
        return np.bincount(positions, weights=impacts, minlength=self.count)

    def coverage(self, terms: list[str], position: int) -> float:
        weights = {term: self.idf.get(term, self.unknown_idf) for term in terms}
        total = sum(weights.values())
        if not total:
            return 0.0
        strong, weak = self.strong[position], self.weak[position]
        covered = sum(
            weight if term in strong else weight * ANSWER_COVERAGE if term in weak else 0.0
            for term, weight in weights.items()
        )
        return covered / total


def _stray_letter(word: str) -> bool:
    """A lone Latin letter other than a size (s, m, l): aaaa, a, x."""
    return len(word) == 1 and word.isascii() and word.isalpha() and word not in "sml"


def _idf(count: int, df: int) -> float:
    return math.log(1 + (count - df + 0.5) / (df + 0.5))


class ShopIndex:
    """The ranking of one shop's enabled FAQ entries."""

    def __init__(
        self,
        entries: Iterable,
        *,
        vocabulary: Vocabulary | None = None,
        industry: str | None = None,
        topics: bool = True,
        background: bool = True,
        tokenize=None,
        item_titles: Iterable[str] = (),
    ):
        entries = list(entries)
        terms = [keyword for entry in entries for keyword in (entry.keywords or [])]
        self.vocabulary = vocabulary or Vocabulary(terms=terms)
        self.built_at = time.monotonic()
        # A build reads each text more than once (alignment, documents, phrasings): each is cut once.
        tokens = tokenize or _memoized(self.vocabulary.tokens)
        aligned = topics_align(entries, industry, self.vocabulary, tokens) if topics else {}
        self.entries: list[IndexedEntry] = []
        documents = {channel: [] for channel in CHANNELS}
        strong = {channel: [] for channel in CHANNELS}
        weak = {channel: [] for channel in CHANNELS}
        for entry in entries:
            parts = [(entry.question, QUESTION_WEIGHT, True)]
            parts += [(text, QUESTION_WEIGHT, True) for text in entry.similar_questions or []]
            parts += [(str(keyword), KEYWORD_WEIGHT, True) for keyword in entry.keywords or []]
            parts += [(text, TOPIC_WEIGHT, True) for text in aligned.get(entry.pk, ())]
            parts.append((entry.answer, ANSWER_WEIGHT, False))
            document = {channel: Counter() for channel in CHANNELS}
            has = {channel: (set(), set()) for channel in CHANNELS}
            for text, weight, is_strong in parts:
                for channel, found in features(tokens(text)).items():
                    for term in found:
                        document[channel][term] += weight
                    has[channel][0 if is_strong else 1].update(found)
            for channel in CHANNELS:
                documents[channel].append(document[channel])
                strong[channel].append(has[channel][0])
                weak[channel].append(has[channel][1] - has[channel][0])
            self.entries.append(IndexedEntry(entry.pk, entry.question, entry.answer))
        self._positions = {entry.id: position for position, entry in enumerate(self.entries)}
        background = _topic_index(industry)[0] if background else None
        self._channels = {
            channel: _Channel(
                documents[channel],
                strong[channel],
                weak[channel],
                background._channels[channel] if background is not None else None,
            )
            for channel in CHANNELS
        }
        # Each entry's phrasings (its question, similar questions and aligned topics' phrasings), one document each,
        # in entry order: an entry scores its best phrasing.
        # What a buyer's text must hold of a phrasing for it to count as asked (the confidence): its content, not the
        # words that only shape the question (今天, 怎么, 能 …).
        starts: list[int] = []
        phrasings: list[Counter] = []
        self._phrasing_terms: list[frozenset[str]] = []
        for entry in entries:
            starts.append(len(phrasings))
            for text in [entry.question, *(entry.similar_questions or []), *aligned.get(entry.pk, ())]:
                words = tokens(text)
                found = features(words)
                phrasings.append(Counter([f"w{t}" for t in found["w"]] + [f"c{t}" for t in found["c"]]))
                content = features([word for word in words if word not in lexicon.FUNCTION_WORDS])
                self._phrasing_terms.append(
                    frozenset([f"w{t}" for t in content["w"]] + [f"c{t}" for t in content["c"]])
                )
        # Words that only name the shop's items (法式碎花连衣裙): a question about an item asks what it would ask of any
        # item, so they are left out of a buyer's text unless the FAQ itself uses them.
        asked_about = set().union(*strong["w"]) if strong["w"] else set()
        self.item_words = frozenset(
            word
            for title in item_titles
            for word in tokens(title)
            if word not in asked_about and word not in lexicon.FUNCTION_WORDS
        )
        self._phrasing_starts = np.array(starts, dtype=np.int64)
        self._phrasing_ends = np.array([*starts[1:], len(phrasings)], dtype=np.int64)
        self._phrasings = _Channel(phrasings, [], [], background._phrasings if background is not None else None)

    def _covered_phrasing(self, query: frozenset[str], position: int) -> float:
        """How much of the entry's best-covered phrasing the buyer's text holds (idf-weighted): a long question that
        contains a whole FAQ question is that question."""
        idf = self._phrasings.idf
        best = 0.0
        for phrasing in range(self._phrasing_starts[position], self._phrasing_ends[position]):
            terms = self._phrasing_terms[phrasing]
            total = sum(idf[term] for term in terms)
            if total:
                best = max(best, sum(idf[term] for term in terms & query) / total)
        return best

    def __len__(self) -> int:
        return len(self.entries)

    def question_words(self, text: str) -> list[str]:
        """The words of a buyer's text the index ranks by: stray letters and the item's name left out (a text that is
        only an item's name keeps it)."""
        words = [word for word in self.vocabulary.tokens(text) if not _stray_letter(word)]
        asked = [word for word in words if word not in self.item_words]
        return asked or words

    def rank(self, text: str, *, limit: int = 3, only: Iterable[int] | None = None) -> list[Match]:
        """The best ``limit`` entries for a buyer's text, best first (none when no word of it is known); ``only``:
        among these entry ids alone."""
        if not self.entries or is_small_talk(text):
            return []
        words = self.question_words(text)
        if all(word in lexicon.FUNCTION_WORDS for word in words):
            return []  # 你们老板是谁: nothing is asked about
        query = {channel: list(dict.fromkeys(found)) for channel, found in features(words).items()}
        totals = np.zeros(len(self.entries))
        for channel, index in self._channels.items():
            scores = index.scores(query[channel])
            best = scores.max()
            if best > 0:
                totals += CHANNEL_WEIGHTS[channel] * scores / best
        if PHRASE_WEIGHT:
            scores = self._phrasings.scores([f"w{t}" for t in query["w"]] + [f"c{t}" for t in query["c"]])
            pooled = np.maximum.reduceat(scores, self._phrasing_starts)  # each entry's best phrasing
            best = pooled.max()
            if best > 0:
                totals += PHRASE_WEIGHT * pooled / best
        if only is not None:
            allowed = np.zeros(len(self.entries), dtype=bool)
            allowed[[self._positions[pk] for pk in only if pk in self._positions]] = True
            totals[~allowed] = 0.0
        candidates = np.flatnonzero(totals > 0)
        order = candidates[np.lexsort((candidates, -totals[candidates]))][:limit]
        ranked = [(int(position), float(totals[position])) for position in order]
        matches = []
        phrase_query = frozenset([f"w{t}" for t in query["w"]] + [f"c{t}" for t in query["c"]])
        for position, _ in ranked:
            forward = sum(index.coverage(query[channel], position) for channel, index in self._channels.items()) / len(
                self._channels
            )
            reverse = self._covered_phrasing(phrase_query, position)
            confidence = min(forward, reverse)
            entry = self.entries[position]
            matches.append(Match(entry.id, entry.question, entry.answer, confidence))
        return matches


@lru_cache(maxsize=16)
def _topic_index(industry: str | None) -> tuple[ShopIndex, tuple]:
    """The pack's topics of an industry as an index of their own (its entries' ids are positions in ``topics``)."""
    chosen = knowledge.topics(industry)
    entries = [
        SimpleNamespace(
            pk=position, question=topic.question, similar_questions=list(topic.phrasings), keywords=[], answer=""
        )
        for position, topic in enumerate(chosen)
    ]
    return ShopIndex(entries, vocabulary=platform_vocabulary(), topics=False, background=False), chosen


def _memoized(tokenize):
    memo: dict[str, list[str]] = {}

    def tokens(text: str) -> list[str]:
        if text not in memo:
            memo[text] = tokenize(text)
        return memo[text]

    return tokens


def topics_align(entries: list, industry: str | None, vocabulary: Vocabulary, tokens) -> dict[int, tuple[str, ...]]:
    """The phrasings each entry takes from the pack: those of each topic that it and the topic pick as each other's
    best. An entry picks the topics (up to ``ALIGN_TOPICS``) its question with its keywords matches with at least
    ``ALIGN_CONFIDENCE``; a topic picks the entry its own question matches best among the shop's entries. So an
    entry may take two topics (能开发票吗 and 能开专票吗), and a topic that another entry answers better stays
    there (退货运费谁出 does not go to 包邮吗)."""
    topic_index, chosen = _topic_index(industry)
    if not chosen or not entries:
        return {}
    plain = ShopIndex(entries, vocabulary=vocabulary, industry=industry, topics=False, tokenize=tokens)
    aligned: dict[int, list[str]] = {}
    for entry in entries:
        text = " ".join([entry.question, *map(str, entry.keywords or [])])
        for match in topic_index.rank(text, limit=ALIGN_TOPICS):
            if match.score < ALIGN_CONFIDENCE:
                continue
            topic = chosen[match.entry_id]
            back = plain.rank(topic.question, limit=1)
            if back and back[0].entry_id == entry.pk:
                aligned.setdefault(entry.pk, []).extend((topic.question, *topic.phrasings))
    return {pk: tuple(texts) for pk, texts in aligned.items()}


# -- the per-process cache ------------------------------------------------------------------------------------------

_cache: OrderedDict[int, tuple[tuple, ShopIndex]] = OrderedDict()
_cache_lock = threading.Lock()


def knowledge_fingerprint(shop_id: int) -> tuple:
    """What the shop's index is built from, in one query: its entries' and synonym groups' counts and newest change."""
    from ..models import FaqEntry, SynonymGroup

    faq, synonyms = FaqEntry._meta.db_table, SynonymGroup._meta.db_table
    sql = f"""SELECT (SELECT COUNT(*) FROM {faq} WHERE shop_id = %s),
    (SELECT MAX(updated_at) FROM {faq} WHERE shop_id = %s),
    (SELECT COUNT(*) FROM {synonyms} WHERE shop_id = %s), (SELECT MAX(updated_at) FROM {synonyms} WHERE shop_id = %s)"""  # noqa: S608 -- table names of the models; values are params
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop_id] * 4)
        return tuple(cursor.fetchone())


def index_build(shop_id: int) -> ShopIndex:
    from ..models import FaqEntry, SynonymGroup

    entries = list(
        FaqEntry.objects.filter(shop_id=shop_id, enabled=True)
        .only("pk", "question", "similar_questions", "keywords", "answer")
        .order_by("pk")
    )
    groups = list(SynonymGroup.objects.filter(shop_id=shop_id).values_list("words", flat=True))
    # The shop's item titles, from a bounded read of its footprints (the shop prefix of their index, no sort).
    titles = list(
        dict.fromkeys(Footprint.objects.filter(shop_id=shop_id).values_list("item_title", flat=True)[:ITEM_ROWS_READ])
    )[:ITEM_TITLES]
    terms = [keyword for entry in entries for keyword in (entry.keywords or [])] + titles
    industry = Shop.objects.filter(pk=shop_id).values_list("industry", flat=True).first()
    return ShopIndex(
        entries, vocabulary=Vocabulary(synonym_groups=groups, terms=terms), industry=industry, item_titles=titles
    )


def shop_index(shop_id: int) -> ShopIndex:
    """The shop's index, from this process's cache while the shop's knowledge is unchanged (and for at most
    ``ASSISTANT_INDEX_MAX_AGE_SECONDS``, so new item titles arrive)."""
    fingerprint = knowledge_fingerprint(shop_id)
    with _cache_lock:
        cached = _cache.get(shop_id)
        fresh = cached is not None and time.monotonic() - cached[1].built_at < settings.ASSISTANT_INDEX_MAX_AGE_SECONDS
        if fresh and cached[0] == fingerprint:
            _cache.move_to_end(shop_id)
            return cached[1]
    index = index_build(shop_id)
    with _cache_lock:
        _cache[shop_id] = (fingerprint, index)
        _cache.move_to_end(shop_id)
        while len(_cache) > settings.ASSISTANT_INDEX_CACHE_SHOPS:
            _cache.popitem(last=False)
    return index


def index_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()

"""Chinese text as the assistant reads it: normalisation, segmentation with ``jieba``, synonyms, and requests for a
human (转人工).

- :func:`normalize`: NFKC (full-width letters, digits and punctuation to half width), lower case, traditional to
  simplified (``opencc``), emoji and punctuation to spaces, repeated characters squeezed (人工人工 is kept: words, not
  characters), and body measurements (165 100斤, 1米6, 45kg) marked as a size question.
- :func:`tokens`: the words of a normalised text, cut by ``jieba`` with the platform's domain words and the shop's
  own terms (its FAQ keywords, item titles and synonyms) kept whole; filler words (亲, 呀, 吗, 请问 …) dropped and
  every word replaced by its synonym group's canonical form.
- :func:`asks_for_human`: whether a buyer message asks for a human, from its words (not a list of fixed strings).

The segmenter is one ``jieba.Tokenizer`` per process, loaded on first use (about a second). A shop's terms are not
added to it (that would leak between shops); they are cut out of the text first, so they act as that shop's user
dictionary only.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

from . import knowledge, lexicon

_lock = threading.Lock()
_tokenizer = None

# Emoji, symbols and punctuation (after NFKC) become spaces; letters, digits and CJK stay.
_NOISE = re.compile(r"[^\w\u4e00-\u9fff]+", re.UNICODE)
# Chat emoticon codes as clients send them: [微笑], [表情], /:^_^.
_EMOTICON = re.compile(r"\[[\u4e00-\u9fff]{1,4}\]|/:[^\s\u4e00-\u9fff]{1,6}")
_DECIMAL = re.compile(r"(\d)\.(\d)")
_REPEAT = re.compile(r"(.)\1{2,}")  # 啊啊啊啊 -> 啊; ??? is noise already
# Body measurements: a height (150-199 cm, 1米6, 1.65m) or a weight (90斤, 45kg, 100公斤) asks which size fits.
_MEASURE = re.compile(
    r"(?:(?<!\d)1[5-9]\d(?!\d)(?:cm|厘米|公分)?)|(?:1米[5-9]\d?)|(?:1\.[5-9]\d?m)|(?:\d{2,3}\s*(?:斤|kg|公斤|千克))"
)
SIZE_MARK = "尺码"
# Staff a buyer may call by name alone (客服呢, 客服在哪); the others only with a verb (叫你们老板出来, 找售后).
_CALLED_ALONE = frozenset({"客服", "店员", "工作人员"})


def _segmenter():
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(60)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in _platform_words():
                    tokenizer.add_word(word, freq=50_000)
                _tokenizer = tokenizer
    return _tokenizer


def _platform_words() -> set[str]:
    words = set(lexicon.PLATFORM_TERMS)
    for group in lexicon.PLATFORM_SYNONYMS:
        words.update(w for w in group if len(w) > 1)
    words.update(w for w in lexicon.HUMAN_WORDS | lexicon.BOT_WORDS | lexicon.BOT_COMPLAINTS if len(w) > 1)
    return words


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def segmenter_warm() -> None:
    """Load what the first text would (the web process calls it as a worker starts)."""
    platform_vocabulary().tokens("亲，什么时候发货")
    implications()


@lru_cache(maxsize=50_000)
def pinyin(word: str) -> tuple[str, ...]:
    """The syllables of a word without tones (``pypinyin``); letters and digits pass as they are."""
    from pypinyin import lazy_pinyin

    return tuple(syllable for syllable in lazy_pinyin(word) if syllable.strip())


def normalize(text: str) -> str:
    text = _EMOTICON.sub(" ", unicodedata.normalize("NFKC", text or "")).casefold()
    text = _t2s().convert(text)
    text = _REPEAT.sub(r"\1", text)
    if _MEASURE.search(text):
        text = f"{text} {SIZE_MARK}"
    text = _DECIMAL.sub(r"\1d\2", text)  # 1.8米 stays one number (1d8), not 1 and 8
    return _NOISE.sub(" ", text).strip()


def _cut(text: str, *, search: bool) -> list[str]:
    tokenizer = _segmenter()
    cut = tokenizer.cut_for_search if search else tokenizer.cut
    return [word for word in cut(text) if word.strip()]


class Vocabulary:
    """One shop's words: its synonym map (the platform's, then the shop's own groups) and its terms kept whole."""

    def __init__(
        self, *, synonym_groups: Iterable[Iterable[str]] = (), terms: Iterable[str] = (), concepts: bool = True
    ):
        self.concepts = concepts  # add the platform pack's concepts to a text's words
        self.synonyms: dict[str, str] = dict(_platform_synonyms())
        for group in synonym_groups:
            words = [normalize(str(word)) for word in group]
            words = [word for word in words if word]
            if len(words) < 2:
                continue
            # A shop's group joins an existing platform group when one of its words is in one.
            canonical = next((self.synonyms[word] for word in words if word in self.synonyms), words[0])
            for word in words:
                self.synonyms[word] = canonical
        terms = {normalize(str(term)) for term in terms} | {w for w in self.synonyms if len(w) > 1}
        terms = sorted((term for term in terms if len(term) > 1 and " " not in term), key=len, reverse=True)
        # Longest first, so a shop term wins over the words inside it.
        self._terms = re.compile("|".join(re.escape(term) for term in terms)) if terms else None

    def words(self, normalized: str, *, search: bool = True) -> list[str]:
        """The words of a normalised text, the shop's terms whole, before fillers and synonyms."""
        out: list[str] = []
        for chunk in normalized.split():
            position = 0
            for match in self._terms.finditer(chunk) if self._terms is not None else ():
                if match.start() > position:
                    out.extend(_cut(chunk[position : match.start()], search=search))
                out.append(match.group())
                position = match.end()
            if position < len(chunk):
                out.extend(_cut(chunk[position:], search=search))
        return out

    def tokens(self, text: str) -> list[str]:
        """The text's content words in canonical form (the matcher's terms): fillers dropped, a long word followed
        by the dictionary words inside it (手机号 -> 手机), each replaced by its synonym group's canonical form, and
        the platform concepts its words imply (``knowledge``)."""
        canonical = self.synonyms
        normalized = normalize(text)
        out: list[str] = []
        for word in self.words(normalized, search=False):
            if word in lexicon.FILLER_WORDS:
                continue
            out.append(canonical.get(word, word))
            if len(word) > 2:
                out.extend(canonical.get(part, part) for part in _cut(word, search=True) if part != word)
        if self.concepts and out:
            pattern, implied = implications()
            if pattern is not None:
                for match in pattern.finditer(normalized.replace(" ", "")):
                    out.extend(canonical.get(concept, concept) for concept in implied[match.group()])
        return out


@lru_cache(maxsize=1)
def implications() -> tuple[re.Pattern | None, dict[str, tuple[str, ...]]]:
    """The pack's implying words as one pattern (longest first) and, for each, the concepts it implies."""
    implied: dict[str, set[str]] = {}
    for concept, words in knowledge.concepts().items():
        for word in words:
            word = normalize(word).replace(" ", "")
            if word:
                implied.setdefault(word, set()).add(normalize(concept))
    if not implied:
        return None, {}
    pattern = re.compile("|".join(re.escape(word) for word in sorted(implied, key=len, reverse=True)))
    return pattern, {word: tuple(sorted(concepts)) for word, concepts in implied.items()}


@lru_cache(maxsize=1)
def _platform_synonyms() -> Mapping[str, str]:
    synonyms: dict[str, str] = {}
    for group in lexicon.PLATFORM_SYNONYMS:
        canonical = normalize(group[0])
        for word in group:
            synonyms.setdefault(normalize(word), canonical)
    return synonyms


@lru_cache(maxsize=1)
def platform_vocabulary() -> Vocabulary:
    return Vocabulary()


def tokens(text: str) -> list[str]:
    """The content words of a text with the platform's vocabulary alone (no shop terms)."""
    return platform_vocabulary().tokens(text)


_TRAILING_PARTICLES = "呀啊哦吧啦嘛呢哈哒噢喔"


def is_small_talk(text: str) -> bool:
    """A whole message that only greets, thanks or acknowledges (收到, 好的, 亲在吗, 晚上好呀 …), or asks something
    that is not about the shop (``lexicon.OFF_TOPIC_MARKERS``): nothing for the FAQ to answer."""
    normalized = normalize(text)
    compact = normalized.replace(" ", "")
    if not compact or compact in lexicon.SMALL_TALK or compact.rstrip(_TRAILING_PARTICLES) in lexicon.SMALL_TALK:
        return True
    if any(marker in compact for marker in lexicon.OFF_TOPIC_MARKERS):
        return True
    words = platform_vocabulary().words(normalized, search=False)
    return all(word in lexicon.FILLER_WORDS or word in lexicon.SMALL_TALK for word in words)


def _asking(word: str) -> bool:
    """A verb of asking for someone, also as jieba joins it with a neighbour: 转下, 找个, 能转, 帮我转."""
    verbs = lexicon.ASK_VERBS
    if word in verbs or word in ("我要", "需要"):
        return True
    return len(word) == 2 and (
        (word[0] in verbs and word[1] in "下个一来") or (word[1] in verbs and word[0] in "能帮请快再")
    )


_NEGATORS = frozenset({"不要", "不用", "不想", "不必", "无需", "无须", "别", "甭", "不需要", "没必要", "不找"})


def _negated(words: list[str], index: int) -> bool:
    """Whether a negation stands within the three words before ``words[index]`` (不用转人工, 别转人工, 没必要找客服)."""
    before = words[max(0, index - 3) : index]
    joined = "".join(before)
    return any(word in _NEGATORS or (len(word) == 2 and word[0] == "别") for word in before) or any(
        negator in joined for negator in ("不需要", "没必要", "不需", "不用", "不要")
    )


def _human_homophones(normalized: str) -> str:
    """Words for a human typed by sound: 人宫 / 人公 / rengong -> 人工, 真仁 -> 真人, 刻服 / kefu -> 客服."""
    for word, spelled in _HUMAN_SOUNDS:
        normalized = normalized.replace(spelled, word)
    syllables = [pinyin(ch) for ch in normalized]
    out = list(normalized)
    for word in ("人工", "真人", "客服"):
        target = [pinyin(ch) for ch in word]
        for start in range(len(out) - len(word) + 1):
            if syllables[start : start + len(word)] == target:
                out[start : start + len(word)] = word
    return "".join(out)


_HUMAN_SOUNDS = (("人工", "rengong"), ("真人", "zhenren"), ("客服", "kefu"))


def asks_for_human(text: str) -> bool:
    """Whether a buyer message asks to be served by a human (转人工).

    Read from the message's words (normalised: 轉人工, ｒｅｎ, 人工人工人工 …), three ways:
    - it names a human (人工, 真人, 活人, 人工客服 …) and says nothing else but talk (回我, 在哪, 快点 …), or a verb of
      asking stands right before it (转人工, 找真人, 要人工);
    - it asks for the shop's staff with a verb (找客服, 叫客服出来, 呼叫售后) or only calls them (客服呢, 客服在哪);
    - it complains about the bot (机器人听不懂, 别用机器人糊弄我) or only says it does not understand (听不懂).
    A question about something else that uses these words (人工费怎么算, 人工草坪, 客服说今天发货, 真人上身效果图,
    机器人玩具有货吗) is not a request.
    """
    words = platform_vocabulary().words(_human_homophones(normalize(text)), search=False)
    words = [word for word in words if word not in lexicon.FILLER_WORDS or word in lexicon.STAFF_WORDS]
    if not words:
        return False
    human = lexicon.HUMAN_WORDS
    staff = lexicon.STAFF_WORDS
    bots = lexicon.BOT_WORDS
    complaints = lexicon.BOT_COMPLAINTS
    neutral = lexicon.TALK_WORDS | lexicon.ASK_VERBS
    others = [word for word in words if word not in human | staff | bots | complaints | neutral and not _asking(word)]
    for index, word in enumerate(words):
        if _negated(words, index):
            continue  # 不用转人工了, 别找客服, 不需要人工: the buyer says they do not want one
        asked = index > 0 and _asking(words[index - 1])
        if word in human and (asked or not others):
            return True
        if word in staff and (asked or (word in _CALLED_ALONE and not others)):
            return True
        if word in ("人", "个人") and asked:  # 换个人来, 叫个人来
            return True
    has_bot = any(word in bots for word in words)
    has_complaint = any(word in complaints for word in words)
    if has_bot and has_complaint:
        return True
    return has_complaint and not others and any(word in ("听不懂", "答非所问", "不懂", "看不懂") for word in words)

"""The service assistant's knowledge base: FAQ entries (with their similar questions) and the shop's synonyms.

Lists of words or questions are cleaned the same way from the API and the admin: stripped, blanks dropped, and
duplicates (case-insensitive) dropped keeping the first.
"""

import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import FaqEntry, SynonymGroup

KEYWORDS_MAX = 50
KEYWORD_MAX_LENGTH = 50
SIMILAR_QUESTIONS_MAX = 50
SIMILAR_QUESTION_MAX_LENGTH = 200
SYNONYM_WORDS_MAX = 50
SYNONYM_WORD_MAX_LENGTH = 50


def text_list_search(field: str, term: str) -> Q:
    """Rows whose JSON list of texts ``field`` has one containing ``term`` (case-insensitive).

    SQLite keeps JSON with non-ASCII characters escaped (\\u5185): the escaped spelling is searched too; PostgreSQL
    stores them as they are.
    """
    escaped = json.dumps(term)[1:-1]
    condition = Q(**{f"{field}__icontains": term})
    return condition | Q(**{f"{field}__icontains": escaped}) if escaped != term else condition


def _clean_texts(values) -> list[str]:
    seen, cleaned = set(), []
    for value in values or []:
        value = str(value).strip()
        if value and value.casefold() not in seen:
            seen.add(value.casefold())
            cleaned.append(value)
    return cleaned


def _clean_keywords(keywords) -> list[str]:
    return _clean_texts(keywords)


def clean_similar_questions(questions, *, question: str = "") -> list[str]:
    """The similar questions as stored: cleaned, without the entry's own question."""
    own = (question or "").strip().casefold()
    return [text for text in _clean_texts(questions) if text.casefold() != own]


def _check_texts(field: str, values: list[str], *, most: int, longest: int) -> None:
    """A list of texts within its limits, else a ``field`` error (the API, the admin and imports share them)."""
    if len(values) > most:
        raise ValidationError({field: _("Give at most %(count)d lines.") % {"count": most}})
    if any(len(value) > longest for value in values):
        raise ValidationError({field: _("Each line has at most %(length)d characters.") % {"length": longest}})


def _entry_save(entry: FaqEntry) -> FaqEntry:
    entry.keywords = _clean_keywords(entry.keywords)
    _check_texts("keywords", entry.keywords, most=KEYWORDS_MAX, longest=KEYWORD_MAX_LENGTH)
    entry.similar_questions = clean_similar_questions(entry.similar_questions, question=entry.question)
    _check_texts(
        "similar_questions", entry.similar_questions, most=SIMILAR_QUESTIONS_MAX, longest=SIMILAR_QUESTION_MAX_LENGTH
    )
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def faq_entry_create(**fields) -> FaqEntry:
    """A new entry of a shop's knowledge base (the assistant's index of the shop is rebuilt at its next message)."""
    return _entry_save(FaqEntry(**fields))


@transaction.atomic
def faq_entry_update(*, entry: FaqEntry, **fields) -> FaqEntry:
    for name, value in fields.items():
        setattr(entry, name, value)
    return _entry_save(entry)


@transaction.atomic
def faq_entry_delete(*, entry: FaqEntry) -> None:
    entry.delete()


# --- synonyms -------------------------------------------------------------------------------------------------------


def clean_synonym_words(words) -> list[str]:
    """A synonym group's words as stored; at least two distinct non-blank words, else a ``words`` error."""
    cleaned = _clean_texts(words)
    if len(cleaned) < 2:
        raise ValidationError({"words": _("Give at least two different words.")})
    _check_texts("words", cleaned, most=SYNONYM_WORDS_MAX, longest=SYNONYM_WORD_MAX_LENGTH)
    return cleaned


def _group_save(group: SynonymGroup) -> SynonymGroup:
    group.words = clean_synonym_words(group.words)
    group.full_clean()
    group.save()
    return group


@transaction.atomic
def synonym_group_create(*, shop, words) -> SynonymGroup:
    """Words the shop's buyers use for the same thing; the assistant reads them as one from its next message."""
    return _group_save(SynonymGroup(shop=shop, words=words))


@transaction.atomic
def synonym_group_update(*, group: SynonymGroup, **fields) -> SynonymGroup:
    for name, value in fields.items():
        setattr(group, name, value)
    return _group_save(group)


@transaction.atomic
def synonym_group_delete(*, group: SynonymGroup) -> None:
    group.delete()

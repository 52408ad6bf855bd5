"""The service assistant's knowledge base."""

from django.db import transaction

from ..models import FaqEntry


def _clean_keywords(keywords) -> list[str]:
    seen, cleaned = set(), []
    for keyword in keywords or []:
        keyword = str(keyword).strip()
        if keyword and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            cleaned.append(keyword)
    return cleaned


@transaction.atomic
def faq_entry_create(**fields) -> FaqEntry:
    entry = FaqEntry(**{**fields, "keywords": _clean_keywords(fields.get("keywords"))})
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def faq_entry_update(*, entry: FaqEntry, **fields) -> FaqEntry:
    for name, value in fields.items():
        setattr(entry, name, _clean_keywords(value) if name == "keywords" else value)
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def faq_entry_delete(*, entry: FaqEntry) -> None:
    entry.delete()

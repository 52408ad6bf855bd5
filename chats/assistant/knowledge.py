"""The platform's industry knowledge pack (``knowledge_pack.json``, 行业知识包): what every shop's assistant knows
before the shop writes anything, like the industry packs of 店小蜜.

- ``concepts``: a concept word and the words that imply it (顺丰, 中通 … imply 快递; 刺痛, 泛红 … imply 过敏). A buyer's
  text that uses one gets the concept beside its own words (``language.Vocabulary.tokens``).
- ``topics``: standard questions of general e-commerce and of each industry, with the phrasings buyers use. A
  shop's FAQ entry whose question is one of these topics (``ShopIndex`` aligns them) is also found by the topic's
  phrasings, as if the shop had written them as similar questions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACK = Path(__file__).with_name("knowledge_pack.json")
# Shop industries (``Shop.industry``) and the pack's names for them.
INDUSTRY_ALIASES = {"home_goods": "home", "furniture": "home", "clothing": "apparel", "cosmetics": "beauty"}


@dataclass(frozen=True)
class Topic:
    id: str
    industries: tuple[str, ...]
    question: str
    phrasings: tuple[str, ...]


@lru_cache(maxsize=1)
def _pack() -> dict:
    if not PACK.exists():
        return {"concepts": {}, "topics": []}
    return json.loads(PACK.read_text(encoding="utf-8"))


def concepts() -> dict[str, list[str]]:
    """Each concept word and the words that imply it, as the pack writes them (``language`` normalises them)."""
    return _pack()["concepts"]


@lru_cache(maxsize=16)
def topics(industry: str | None) -> tuple[Topic, ...]:
    """The general topics and those of the industry (every topic when the industry is unknown)."""
    industry = INDUSTRY_ALIASES.get(industry or "", industry or "")
    known = {name for topic in _pack()["topics"] for name in topic.get("industries", ["all"])}
    chosen = []
    for topic in _pack()["topics"]:
        names = topic.get("industries") or ["all"]
        if "all" in names or industry in names or industry not in known:
            chosen.append(Topic(topic["id"], tuple(names), topic["question"], tuple(topic.get("phrasings") or ())))
    return tuple(chosen)

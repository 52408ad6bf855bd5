"""The matcher on the labelled buyer questions (``labelled.py``), with floors a little under the measured figures so
a regression fails CI. ``bench/assistant.py`` prints every figure; its last output is in bench/README.md.

Measured (2026-12-04), at the default thresholds (answer 0.3, clarify 0.2):
- held-out set (the honest figure: its author saw only the FAQ entries, and nothing was tuned on it or looked at in
  it but its totals): top-1 0.901 (0.910 with similar questions); answered right 0.775 with precision 0.913,
  chit-chat answered 3.8% (5.7% before the off-topic markers, which were read off the labelled set's chit-chat);
- labelled set (developed on, and the knowledge pack's second pass was asked for the kinds of phrasing its misses
  showed, so it flatters): top-1 0.927 (0.942); answered right 0.814, precision 0.939, chit-chat answered 1.3%;
- typed requests for a human 58 of 59 recognised, 0 of 55 look-alikes; the first round's keyword matcher: top-1
  0.178 (labelled), 0.222 (held-out).
"""

import pytest
from django.conf import settings

from chats.assistant.language import asks_for_human
from tests.assistant.labelled import evaluate, index_ranker, keyword_ranker, labelled_set


@pytest.fixture(scope="module")
def figures():
    return {
        (heldout, similar): evaluate(index_ranker, similar=similar, heldout=heldout)
        for heldout in (False, True)
        for similar in (False, True)
    }


def test_the_set_is_as_large_as_asked():
    data = labelled_set()
    industries = data["industries"]
    assert set(industries) == {"apparel", "beauty", "home"}
    assert all(len(industry["faq"]) >= 25 for industry in industries.values())
    assert sum(len(industry["questions"]) for industry in industries.values()) >= 300
    assert len(data["chitchat"]) >= 60
    for industry in industries.values():  # entries as shops write them: a question, 1-3 keywords, an answer
        assert all(1 <= len(entry["keywords"]) <= 3 for entry in industry["faq"])


@pytest.mark.parametrize(
    ("heldout", "similar", "floor"),
    [(False, False, 0.91), (False, True, 0.925), (True, False, 0.885), (True, True, 0.895)],
)
def test_top1_accuracy_floor(figures, heldout, similar, floor):
    assert figures[heldout, similar].top1() >= floor


@pytest.mark.parametrize(("heldout", "ceiling"), [(False, 0.03), (True, 0.05)])
def test_chitchat_rarely_gets_an_faq_answer(figures, heldout, ceiling):
    assert figures[heldout, False].chitchat_answered(settings.ASSISTANT_ANSWER_CONFIDENCE) <= ceiling


def test_answers_given_are_mostly_right(figures):
    threshold = settings.ASSISTANT_ANSWER_CONFIDENCE
    assert figures[False, False].precision(threshold) >= 0.90
    assert figures[True, False].precision(threshold) >= 0.88
    assert figures[False, False].answered_correctly(threshold) >= 0.79
    assert figures[True, False].answered_correctly(threshold) >= 0.75


def test_the_new_matcher_beats_the_keyword_matcher_by_far(figures):
    assert evaluate(keyword_ranker).top1() < 0.3 < figures[False, False].top1() - 0.5


def test_typed_requests_for_a_human_are_recognised():
    transfer = labelled_set()["transfer"]
    recognised = sum(asks_for_human(line) for line in transfer["positive"])
    assert recognised >= len(transfer["positive"]) - 2
    assert not [line for line in transfer["negative"] if asks_for_human(line)]
    assert not [line for line in labelled_set()["chitchat"] if asks_for_human(line)]

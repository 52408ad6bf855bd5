"""Staffing: Erlang C against worked examples, shift plans, the heatmap in local time, and the API."""

import math
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from agents.choices import AgentRole
from chats.supervision.staffing import (
    agents_needed,
    erlang_c,
    service_level,
    shift_plan,
    staffing_heatmap,
    staffing_plan,
)
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory
from tests.conftest import client_for
from tests.shops.factories import ShopFactory

# --- Erlang C -----------------------------------------------------------------------------------------------------


def test_erlang_c_small_case_from_the_closed_form():
    """N = 3 servers, A = 2 Erlangs: C = (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A)).

    By hand: A^3/3! * 3/(3-2) = 8/6 * 3 = 4; sum_{k<3} = 1 + 2 + 2 = 5; C = 4 / (5 + 4) = 4/9.
    """
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, abs=1e-12)


def test_erlang_c_classic_call_centre_example():
    """The widely reproduced Erlang C worked example: 360 calls per half hour, 4-minute handle time, 55 agents.

    Published figures: traffic intensity 360 x 240 / 1800 = 48 Erlangs, occupancy 87.3%, probability of waiting
    0.2387 (24%), average speed of answer C x AHT / (N - A) = 8.2 s. Service level 1 - C e^{-(N-A) t / AHT}:
    86.7% within 20 s and 84.6% within 15 s.
    """
    traffic = 360 * 240 / 1800
    assert traffic == 48
    waits = erlang_c(55, traffic)
    assert waits == pytest.approx(0.2387, abs=5e-5)
    assert waits * 240 / (55 - 48) == pytest.approx(8.2, abs=0.05)
    assert service_level(servers=55, traffic=48, within_seconds=20, handle_seconds=240) == pytest.approx(
        0.867, abs=5e-4
    )
    assert service_level(servers=55, traffic=48, within_seconds=15, handle_seconds=240) == pytest.approx(
        0.846, abs=5e-4
    )


def test_agents_needed_for_80_in_20_is_the_first_count_reaching_it():
    """Same example at 720 chats/hour: 53 agents reach 75.2%, 54 reach 81.7% (the answer), 55 reach 86.7%."""
    assert service_level(servers=53, traffic=48, within_seconds=20, handle_seconds=240) == pytest.approx(
        0.7518, abs=1e-4
    )
    needed, level = agents_needed(
        arrivals_per_hour=720, handle_seconds=240, concurrency=1, target=0.8, within_seconds=20
    )
    assert (needed, round(level, 4)) == (54, 0.8172)


def test_concurrency_makes_each_agent_several_servers():
    """Three chats at once: n agents are 3n servers; 17 agents (51 servers) reach 55.5%, 18 (54) reach 81.7%."""
    needed, level = agents_needed(
        arrivals_per_hour=720, handle_seconds=240, concurrency=3, target=0.8, within_seconds=20
    )
    assert (needed, round(level, 4)) == (18, 0.8172)


def test_no_chats_need_no_agents_and_an_unstable_queue_serves_nobody():
    assert agents_needed(arrivals_per_hour=0, handle_seconds=300, concurrency=3, target=0.8, within_seconds=180) == (
        0,
        None,
    )
    assert erlang_c(48, 48.0) == 1.0
    assert service_level(servers=40, traffic=48, within_seconds=20, handle_seconds=240) == 0.0


def test_erlang_c_is_stable_for_thousands_of_servers():
    """The recursion does not overflow where A^N / N! would (A = 2000 Erlangs)."""
    waits = erlang_c(2100, 2000.0)
    assert 0 < waits < 1
    assert math.isfinite(waits)


# --- shift plan -----------------------------------------------------------------------------------------------------


def test_shift_plan_covers_every_hour_with_fewest_shifts():
    needs = [0] * 24
    needs[8:14] = [2, 2, 3, 3, 1, 1]
    # Hour 8 lacks 2: two shifts 8-12. Hour 10 lacks 1 more: one shift 10-14, which also covers 12 and 13.
    assert shift_plan(needs, shift_hours=4) == [
        {"start_hour": 8, "end_hour": 12, "agents": 2},
        {"start_hour": 10, "end_hour": 14, "agents": 1},
    ]


def test_shift_plan_keeps_late_peaks_inside_the_day():
    needs = [0] * 24
    needs[22:24] = [4, 2]  # the 11.11 evening peak
    assert shift_plan(needs, shift_hours=8) == [{"start_hour": 16, "end_hour": 24, "agents": 4}]
    assert shift_plan([0] * 24) == []


# --- heatmap and plan from data -------------------------------------------------------------------------------------


def _local(shop, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=shop.tzinfo)


@pytest.mark.django_db
def test_heatmap_counts_in_the_shops_time_zone(shop):
    until = date(2024, 5, 13)  # a Monday: the window is Monday 15 April .. Sunday 12 May
    ConversationFactory(shop=shop, started_at=_local(shop, date(2024, 5, 12), 23, 30))  # Sunday 23:30 (15:30 UTC)
    ConversationFactory(shop=shop, started_at=_local(shop, date(2024, 5, 6), 10, 5))  # Monday 10h
    ConversationFactory(shop=shop, started_at=_local(shop, date(2024, 4, 29), 10, 55))  # Monday 10h, a week earlier
    ConversationFactory(shop=shop, started_at=_local(shop, date(2024, 5, 13), 10))  # the day itself: excluded
    ConversationFactory(shop=shop, started_at=_local(shop, date(2024, 4, 14), 10))  # before the window
    ConversationFactory(shop=ShopFactory(), started_at=_local(shop, date(2024, 5, 6), 10))  # another shop
    cells = {(c["weekday"], c["hour"]): c for c in staffing_heatmap(shop=shop, weeks=4, until=until)}
    assert len(cells) == 168
    assert cells[(7, 23)]["conversations"] == 1
    assert cells[(1, 10)]["conversations"] == 2
    assert cells[(1, 10)]["average"] == 0.5
    assert sum(c["conversations"] for c in cells.values()) == 3


@pytest.mark.django_db
def test_plan_forecasts_from_the_same_weekday_and_sizes_with_erlang_c(shop):
    today = timezone.now().astimezone(shop.tzinfo).date()
    day = today + timedelta(days=1)
    for _ in range(3):
        ConversationFactory(shop=shop, started_at=_local(shop, day - timedelta(days=7), 10, 15))
    ConversationFactory(shop=shop, started_at=_local(shop, day - timedelta(days=14), 10, 45))
    ConversationFactory(shop=shop, started_at=_local(shop, day - timedelta(days=3), 10, 45))  # another weekday
    plan = staffing_plan(shop=shop, day=day, target=0.8, within_seconds=180, handle_seconds=3600, concurrency=1)
    ten = plan.hours[10]
    # Forecast (3 + 1) / 4 weeks = 1 chat/hour, A = 1 Erlang. C(2, 1) = 1/3: SL = 1 - e^{-0.05}/3 = 0.6829 < 0.8;
    # C(3, 1) = 1/11: SL = 1 - e^{-0.1}/11 = 0.9177. So 3 agents.
    assert (ten["forecast"], ten["agents_needed"], ten["expected_service_level"]) == (1.0, 3, 0.9177)
    assert plan.hours[9] == {"hour": 9, "forecast": 0.0, "agents_needed": 0, "expected_service_level": None}
    assert plan.shifts == [{"start_hour": 10, "end_hour": 18, "agents": 3}]
    assert (plan.peak_agents, plan.agent_hours) == (3, 3)


@pytest.mark.django_db
def test_plan_defaults_come_from_the_shop(shop):
    AgentFactory(shop=shop, capacity=4)
    AgentFactory(shop=shop, capacity=2)
    start = timezone.now() - timedelta(days=3)
    ConversationFactory(
        shop=shop,
        agent=AgentFactory(shop=shop, capacity=3),
        status="ended",
        started_at=start,
        assigned_at=start + timedelta(minutes=1),
        last_message_at=start + timedelta(minutes=11),
        ended_at=start + timedelta(minutes=20),
    )
    plan = staffing_plan(shop=shop, day=timezone.now().astimezone(shop.tzinfo).date() + timedelta(days=1))
    assert plan.handle_seconds == 600.0  # first assignment to last message
    assert plan.concurrency == 3  # the agents' average capacity (4 + 2 + 3) / 3


# --- API ------------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_plan_api_answers_one_row_per_hour(owner_client, shop):
    response = owner_client.get(
        "/api/v1/staffing/plan/", {"date": "2024-05-07", "handle_seconds": 300, "concurrency": 3}
    )
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [row["hour"] for row in rows] == list(range(24))
    assert set(rows[0]) == {"hour", "forecast", "agents_needed", "expected_service_level"}
    shifts = owner_client.get("/api/v1/staffing/shift-plan/", {"date": "2024-05-07", "shift_hours": 6}).json()
    assert (shifts["date"], shifts["shift_hours"], shifts["target"], shifts["within_seconds"]) == (
        "2024-05-07",
        6,
        0.8,
        180.0,
    )
    assert len(shifts["hours"]) == 24


@pytest.mark.django_db
def test_heatmap_api(owner_client, shop):
    ConversationFactory(shop=shop, started_at=timezone.now() - timedelta(days=2))
    response = owner_client.get("/api/v1/staffing/heatmap/", {"weeks": 2})
    assert response.status_code == 200
    cells = response.json()
    assert len(cells) == 168
    assert sum(cell["conversations"] for cell in cells) == 1
    assert set(cells[0]) == {"weekday", "hour", "conversations", "average"}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/staffing/heatmap/", "/api/v1/staffing/plan/", "/api/v1/staffing/shift-plan/"])
def test_staffing_is_for_managers_and_platform_staff(shop, agent_client, integration_client, staff_client, url):
    assert agent_client.get(url).status_code == 403
    assert integration_client.get(url).status_code == 403
    supervisor = AgentFactory(shop=shop, role=AgentRole.SUPERVISOR)
    assert client_for(supervisor.user).get(url).status_code == 200
    assert staff_client.get(url).status_code == 400  # platform staff name the shop
    assert staff_client.get(url, {"shop": shop.pk}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"target": "1.5"}, "target"),
        ({"target": "0"}, "target"),
        ({"within_seconds": "-3"}, "within_seconds"),
        ({"handle_seconds": "0"}, "handle_seconds"),
        ({"concurrency": "0"}, "concurrency"),
        ({"concurrency": "lots"}, "concurrency"),
        ({"weeks": "0"}, "weeks"),
        ({"weeks": "1000"}, "weeks"),
        ({"date": "2024-13-01"}, "date"),
        ({"date": "0001-01-01"}, "date"),
        ({"date": "9999-12-31"}, "date"),
        ({"shift_hours": "25"}, "shift_hours"),
        ({"shop": "999999"}, "shop"),
    ],
)
def test_bad_plan_parameters_are_400_with_the_field(owner_client, shop, params, field):
    response = owner_client.get("/api/v1/staffing/plan/", params)
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.django_db
def test_another_shop_is_400_not_its_data(owner_client, other_shop):
    response = owner_client.get("/api/v1/staffing/heatmap/", {"shop": other_shop.pk})
    assert response.status_code == 400
    assert "shop" in response.json()


def test_history_window_is_whole_weeks_before_the_day():
    from chats.supervision.staffing import history_window

    class FakeShop:
        tzinfo = UTC

    start, end = history_window(shop=FakeShop(), day=date(2020, 1, 29), weeks=2)
    assert (start, end) == (datetime(2020, 1, 15, tzinfo=UTC), datetime(2020, 1, 29, tzinfo=UTC))


@pytest.mark.django_db
def test_volume_factor_scales_the_forecast_for_a_promotion_day(shop):
    today = timezone.now().astimezone(shop.tzinfo).date()
    day = today + timedelta(days=1)
    for week in (1, 2):
        ConversationFactory(shop=shop, started_at=_local(shop, day - timedelta(days=7 * week), 22, 10))
    normal = staffing_plan(shop=shop, day=day, handle_seconds=3600, concurrency=1)
    promotion = staffing_plan(shop=shop, day=day, handle_seconds=3600, concurrency=1, volume_factor=10)
    assert (normal.hours[22]["forecast"], promotion.hours[22]["forecast"]) == (0.5, 5.0)
    # 5 chats/hour of an hour each is 5 Erlangs: the first count past 80% within 180 s is 8 agents (C(8, 5) = 0.1673,
    # SL = 1 - 0.1673 e^{-0.15} = 0.8560; 7 agents give C(7, 5) = 0.3241, SL = 1 - 0.3241 e^{-0.1} = 0.7067).
    assert (promotion.hours[22]["agents_needed"], promotion.hours[22]["expected_service_level"]) == (8, 0.856)

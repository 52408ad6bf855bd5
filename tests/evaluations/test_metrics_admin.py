"""The metrics admin: per-shop dashboard (SVG charts, no CDN), shop scoping, the recompute action, the charts."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from evaluations.choices import MetricScope
from evaluations.metrics.charts import line_chart
from evaluations.models import DailyMetric
from tests.chats.factories import ConversationFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

D = date(2024, 5, 6)


def dashboard_url(shop):
    return reverse("admin:evaluations_dailymetric_dashboard", args=[shop.pk])


@pytest.fixture
def trend(shop):
    for n in range(30):
        DailyMetric.objects.create(
            shop=shop,
            date=D - timedelta(days=n),
            scope=MetricScope.SHOP,
            conversations=10 + n,
            response_rate_3m=0.5 if n != 3 else None,
            satisfaction_rate=0.9,
            fcr_3d=0.8,
            reception_volume=12.5,
            reception_tier="<100",
        )
    DailyMetric.objects.filter(shop=shop, date=D).update(stars=4, fast_response_badge=True, response_rate_3m_7d=0.85)
    peer = ShopFactory(industry=shop.industry)
    DailyMetric.objects.create(shop=peer, date=D, scope=MetricScope.SHOP, response_rate_3m=0.25, reception_tier="<100")
    return shop


def test_dashboard_shows_trends_peers_badge_and_stars_without_internet(admin_client, trend):
    response = admin_client.get(dashboard_url(trend))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="metrics-chart"') == 4
    assert "★★★★<" in html  # four stars
    assert "85%" in html  # 7-day 3-minute rate
    assert "2024-04-07" in html and "2024-05-06" in html  # the 30 days
    assert '<script src="http' not in html and "cdn" not in html.lower()
    peers = response.context["peers"]
    rate = next(p for p in peers if p["label"] == "3-minute response rate")
    assert (rate["value"], rate["median"], rate["percentile"], rate["peers"]) == ("50.0%", "25.0%", "100.0%", 1)


def test_dashboard_of_another_day_and_of_a_shop_without_rows(admin_client, trend, other_shop):
    response = admin_client.get(dashboard_url(trend), {"date": "2024-04-06"})
    assert response.status_code == 200 and response.context["end"] == date(2024, 4, 6)
    response = admin_client.get(dashboard_url(other_shop))
    assert response.status_code == 200 and "No metrics have been computed" in response.content.decode()
    assert admin_client.get(dashboard_url(trend), {"date": "not-a-date"}).context["end"] == D
    for far in ("0001-01-01", "9999-12-31"):  # the 30-day window around them would overflow
        response = admin_client.get(dashboard_url(trend), {"date": far})
        assert response.status_code == 200 and response.context["end"] == D


def test_shop_staff_see_only_their_own_dashboard(shop_staff_admin_client, trend, other_shop):
    client = shop_staff_admin_client(trend, "view_dailymetric")
    assert client.get(dashboard_url(trend)).status_code == 200
    assert client.get(dashboard_url(other_shop)).status_code == 404
    pick = client.get(reverse("admin:evaluations_dailymetric_dashboard_pick"))
    assert pick.status_code == 302 and pick["Location"] == dashboard_url(trend)
    no_permission = shop_staff_admin_client(trend)
    assert no_permission.get(dashboard_url(trend)).status_code in (403, 404)


def test_platform_staff_pick_a_shop(admin_client, trend, other_shop):
    response = admin_client.get(reverse("admin:evaluations_dailymetric_dashboard_pick"), {"q": trend.name})
    assert response.status_code == 200
    assert list(response.context["shops"]) == [trend]


def test_recompute_action_replaces_the_selected_days(admin_client, shop):
    ConversationFactory.create_batch(2, shop=shop, started_at=datetime(2024, 5, 6, 3, tzinfo=UTC))
    stale = DailyMetric.objects.create(shop=shop, date=D, scope=MetricScope.SHOP, conversations=99)
    response = admin_client.post(
        reverse("admin:evaluations_dailymetric_changelist"),
        {"action": "recompute", "_selected_action": [stale.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert DailyMetric.objects.get(shop=shop, date=D, scope=MetricScope.SHOP).conversations == 2
    assert "1 day recomputed: 3 rows written." in response.content.decode()  # shop, pre-sales, bot


def test_line_chart_breaks_on_missing_days_and_escapes_its_title():
    days = [D + timedelta(days=n) for n in range(4)]
    svg = str(line_chart(list(zip(days, [0.5, None, 0.75, 1.0], strict=True)), title="<b>rate</b>", percent=True))
    assert svg.count("<polyline") == 2  # the gap splits the line
    assert svg.count("<circle") == 3
    assert "&lt;b&gt;rate&lt;/b&gt;" in svg and "<b>" not in svg
    assert "100%" in svg and "2024-05-06" in svg and "2024-05-09" in svg
    counts = str(line_chart(list(zip(days, [3, 7, 12, None], strict=True)), title="volume", percent=False))
    assert ">20<" in counts  # axis maximum rounded up from 12
    empty = str(line_chart([(D, None)], title="nothing", percent=False))
    assert "<polyline" not in empty and "—" in empty

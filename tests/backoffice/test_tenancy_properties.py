"""Two shops, property-based: no combination of filters, ordering, search and paging on any list endpoint shows a
row of the other shop, and the browsable API's forms offer only the caller's own shop's objects.

The list endpoints and their parameters come from the OpenAPI schema, so a new endpoint or filter is covered on its
own; values are drawn from both shops' ids, dates, numbers and odd strings.
"""

import re
from functools import cache

import pytest
from django.urls import resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.api.tenancy import shop_id_of
from tests.backoffice.world import build_shop_world
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@cache
def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@cache
def list_operations() -> list[tuple[str, list[dict]]]:
    """(path, query parameters) of every GET without path parameters under /api/v1/ (lists, reports, exports)."""
    found = []
    for path, operations in _schema()["paths"].items():
        if not path.startswith("/api/v1/") or "{" in path or "get" not in operations:
            continue
        if path.endswith(("/export/", "/download/")):
            continue  # files, not rows
        params = [p for p in operations["get"].get("parameters", []) if p.get("in") == "query"]
        found.append((path, params))
    return found


def _model_of(path: str):
    view = resolve(path).func
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    queryset = getattr(cls, "queryset", None)
    return queryset.model if queryset is not None else None


@pytest.fixture
def worlds(db):
    # Function-scoped and rolled back with the test; Hypothesis' examples of one test share it (they only read).
    return build_shop_world("Shop A"), build_shop_world("Shop B")


def _values(worlds):
    mine, theirs = worlds
    ids = sorted({obj.pk for world in worlds for obj in world.objects.values()} | {0, 1, 2, 999_999})
    return st.one_of(
        st.sampled_from([str(i) for i in ids]),
        st.sampled_from(
            ["", "true", "false", "2026-11-01", "2000-01-01", "2026-11-23T10:00:00+08:00", "-1", "0.5", "%", "_"]
        ),
        st.sampled_from([mine.shop.name, theirs.shop.name, theirs.buyer.nick, theirs.agent.display_name]),
        st.text(max_size=8),
    )


def _param_strategy(params: list[dict], values):
    entries = {}
    for param in params:
        name = param["name"]
        schema = param.get("schema", {})
        enum = schema.get("enum") or schema.get("items", {}).get("enum")
        entries[name] = st.sampled_from([str(v) for v in enum]) | values if enum else values
    if not entries:
        return st.just({})
    return st.fixed_dictionaries({}, optional=entries)


def _rows(body):
    if isinstance(body, dict):
        body = body.get("results", body)
    return body if isinstance(body, list) else []


def _check_rows(path, rows, own_shop_id):
    model = _model_of(path)
    ids = [row["id"] for row in rows if isinstance(row, dict) and isinstance(row.get("id"), int)]
    for row in rows:
        if isinstance(row, dict) and "shop" in row:
            assert row["shop"] in (own_shop_id, None), (path, row)
    if model is None or not ids or getattr(model, "tenancy_path", None) is None:
        return
    for obj in model._default_manager.filter(pk__in=ids):
        assert shop_id_of(obj) == own_shop_id, (path, obj, "another shop's row")


@pytest.mark.parametrize("role", ["owner", "agent"])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_no_list_query_reveals_another_shops_rows(worlds, role, data):
    mine, theirs = worlds
    client = client_for(mine.owner.user if role == "owner" else mine.agent.user)
    path, params = data.draw(st.sampled_from(list_operations()), label="endpoint")
    query = data.draw(_param_strategy(params, _values(worlds)), label="query")
    response = client.get(path, query)
    assert response.status_code < 500, (path, query, response.content[:500])
    if response.status_code != 200 or not response["Content-Type"].startswith("application/json"):
        return
    _check_rows(path, _rows(response.json()), mine.shop.pk)


def test_a_foreign_shop_parameter_never_answers_its_rows(worlds):
    mine, theirs = worlds
    client = client_for(mine.owner.user)
    checked = 0
    for path, params in list_operations():
        if not any(p["name"] == "shop" for p in params):
            continue
        response = client.get(path, {"shop": theirs.shop.pk})
        assert response.status_code in (400, 404) or not _rows(response.json()), (path, response.content[:300])
        checked += 1
    assert checked >= 10


SELECT = re.compile(r'<select[^>]*name="(?P<name>[^"]+)"[^>]*>(?P<body>.*?)</select>', re.S)
OPTION = re.compile(r'<option[^>]*value="(?P<value>[^"]*)"')
# Form field name -> the world key of the object it refers to.
RELATION_FIELDS = {
    "shop": "shop",
    "agent": "agent",
    "handler": "agent",
    "members": "agent",
    "recipient": "agent",
    "group": "routing-group",
    "groups": "routing-group",
    "conversation": "conversation",
    "invite": "evaluation-invite",
    "order": "order",
}


def test_browsable_api_forms_offer_only_own_shop_objects(worlds):
    mine, theirs = worlds
    client = client_for(mine.owner.user)
    selects_seen = 0
    for path, _params in list_operations():
        response = client.get(path, HTTP_ACCEPT="text/html")
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        for match in SELECT.finditer(html):
            key = RELATION_FIELDS.get(match["name"])
            if key is None or key not in theirs.objects:
                continue
            offered = {value for value in OPTION.findall(match["body"]) if value}
            selects_seen += 1
            foreign, own = str(theirs.objects[key].pk), str(mine.objects[key].pk)
            assert foreign not in offered or foreign == own, (path, match["name"], sorted(offered))
    assert selects_seen >= 10

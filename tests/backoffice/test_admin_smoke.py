"""Every admin page of every model opens, and the shared admin helpers (estimated paginator) keep their promises.

The model list comes from the admin registry and the apps, so a new model is covered (or flagged) on its own.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.core import checks
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice.admin import EstimatedCountPaginator, table_row_estimate
from chats.models import Message
from events.models import FeedCursor
from shops.models import RolloutConfig
from tests.backoffice.world import build_shop_world
from tests.chats.factories import ConversationFactory, MessageFactory

DOMAIN_APPS = ("shops", "events", "agents", "chats", "evaluations")
SINGLETONS = {RolloutConfig, FeedCursor}  # one row whatever the world holds
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label in DOMAIN_APPS),
    key=lambda model: model._meta.label,
)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def world(db):
    return build_shop_world("Smoke shop")


@pytest.fixture
def superuser_request(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    return request


def test_admin_registry_covers_every_domain_model():
    models = {model for label in DOMAIN_APPS for model in apps.get_app_config(label).get_models()}
    assert models - set(REGISTERED) == set()


def test_admin_system_checks_pass():
    errors = [error for error in checks.run_checks(tags=[checks.Tags.admin]) if error.is_serious()]
    assert errors == []


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_pages_open_for_superuser(admin_client, superuser_request, world, model):
    model_admin = admin.site._registry[model]
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the smoke world builds no {model._meta.label}: add one to tests/backoffice/world.py"

    assert admin_client.get(_url(model, "changelist")).status_code == 200
    assert admin_client.get(_url(model, "changelist"), {"q": "anything"}).status_code == 200
    response = admin_client.get(_url(model, "changelist"), {"q": f"#{obj.pk}"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200
    add = admin_client.get(_url(model, "add"))
    assert add.status_code == (200 if model_admin.has_add_permission(superuser_request) else 403)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_changelist_query_count_is_flat(admin_client, world, model):
    def changelist():
        with CaptureQueriesContext(connection) as ctx:
            response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.context["cl"].result_list)

    small_queries, small_rows = changelist()
    build_shop_world("Second shop")
    build_shop_world("Third shop")
    big_queries, big_rows = changelist()
    if model not in SINGLETONS:
        assert big_rows > small_rows
    assert big_queries == small_queries


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_autocomplete_fields_answer(admin_client, superuser_request, world, model):
    model_admin = admin.site._registry[model]
    for field_name in model_admin.get_autocomplete_fields(superuser_request):
        response = admin_client.get(
            reverse("admin:autocomplete"),
            {"app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name},
        )
        assert response.status_code == 200, (model._meta.label, field_name)
        assert response.json()["results"], (model._meta.label, field_name)


@pytest.mark.django_db
def test_estimated_paginator_counts_at_most_the_cap():
    conversation = ConversationFactory()
    MessageFactory.create_batch(7, conversation=conversation)

    class SmallCap(EstimatedCountPaginator):
        count_cap = 5

    with CaptureQueriesContext(connection) as ctx:
        assert SmallCap(Message.objects.order_by("-sent_at"), 2).count == 5
    (count_sql,) = [query["sql"].upper() for query in ctx.captured_queries if "COUNT(" in query["sql"].upper()]
    assert "LIMIT 5" in count_sql and "ORDER BY" not in count_sql
    assert EstimatedCountPaginator(Message.objects.all(), 2).count == 7
    assert EstimatedCountPaginator(Message.objects.filter(conversation=conversation), 2).count == 7


@pytest.mark.django_db
def test_estimated_paginator_pages_past_an_estimate():
    MessageFactory.create_batch(3, conversation=ConversationFactory())
    paginator = EstimatedCountPaginator(Message.objects.order_by("pk"), 2)
    assert [len(paginator.page(number).object_list) for number in paginator.page_range] == [2, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_estimated_paginator_reads_reltuples_for_an_unfiltered_big_table():
    conversation = ConversationFactory()
    MessageFactory.create_batch(30, conversation=conversation)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Message._meta.db_table)}")
    assert table_row_estimate(Message, "default") == 30

    class SmallCap(EstimatedCountPaginator):
        count_cap = 10

    with CaptureQueriesContext(connection) as ctx:
        assert SmallCap(Message.objects.all(), 5).count == 30
    assert [query["sql"] for query in ctx.captured_queries if "COUNT(" in query["sql"].upper()] == []
    # Filtered (a shop's staff, a list filter): capped count, not the table estimate.
    assert SmallCap(Message.objects.filter(conversation=conversation), 5).count == 10

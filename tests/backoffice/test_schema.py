"""The served OpenAPI schema is valid, warning-free, and carries the contract's paths and outcome words."""

import io

import pytest
import yaml
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_schema_has_the_contracts_paths(schema):
    paths = set(schema["paths"])
    for path in (
        "/api/v1/auth/token/",
        "/api/v1/shops/",
        "/api/v1/agents/{id}/status/",
        "/api/v1/routing-groups/{id}/",
        "/api/v1/buyers/{id}/",
        "/api/v1/orders/",
        "/api/v1/footprints/",
        "/api/v1/after-sales-events/",
        "/api/v1/conversations/",
        "/api/v1/conversations/{conversation_pk}/messages/",
        "/api/v1/conversations/{id}/transfer-to-human/",
        "/api/v1/conversations/{id}/transfer/",
        "/api/v1/conversations/{id}/close/",
        "/api/v1/faq-entries/",
        "/api/v1/metrics/daily/",
        "/api/v1/metrics/peers/",
        "/api/v1/monitoring/conversations/",
        "/api/v1/monitoring/conversations/{id}/",
        "/api/v1/exports/",
        "/api/v1/exports/{id}/",
        "/api/v1/exports/{id}/download/",
        "/api/v1/staffing/heatmap/",
        "/api/v1/staffing/plan/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{id}/",
        "/api/v1/webhooks/{id}/rotate-secret/",
        "/api/v1/webhooks/{id}/deliveries/",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/",
    ):
        assert path in paths, path


def test_schema_lists_the_outcome_words(schema):
    outcomes = schema["components"]["schemas"]["OutcomeEnum"]["enum"]
    assert outcomes == ["assigned", "queued", "failed_offline", "failed_busy", "already_assigned"]
    statuses = schema["components"]["schemas"]["ConversationStatusEnum"]["enum"]
    assert statuses == ["bot", "queued", "human", "left_message", "ended"]
    assert schema["components"]["schemas"]["ExportStatusEnum"]["enum"] == ["pending", "running", "done", "failed"]
    assert schema["components"]["schemas"]["ExportKindEnum"]["enum"] == ["conversations", "messages"]
    assert schema["components"]["schemas"]["ExportFormatEnum"]["enum"] == ["csv", "xlsx"]
    assert schema["components"]["schemas"]["DeliveryStatusEnum"]["enum"] == ["pending", "delivered", "failed"]


def _api_model_serializers():
    """Every model serializer the project defines (the API's and their update/create variants)."""
    from django.urls import get_resolver
    from rest_framework import serializers

    get_resolver().url_patterns  # noqa: B018 - importing the URLconf imports every API module
    seen, pending = [], [serializers.ModelSerializer]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if sub.__module__.split(".")[0] in {"shops", "agents", "chats", "evaluations"} and sub not in seen:
                seen.append(sub)
    return seen


@pytest.mark.django_db
def test_fields_over_nullable_columns_are_nullable_in_the_schema():
    """A field reading a nullable column must say so, or clients validating responses reject real rows."""
    from django.core.exceptions import FieldDoesNotExist

    classes = _api_model_serializers()
    assert {"AutoReplyRuleUpdateSerializer", "QuickPhraseUpdateSerializer", "EvaluationSerializer"} <= {
        cls.__name__ for cls in classes
    }
    offenders = []
    for cls in classes:
        model = cls.Meta.model
        for name, field in cls().fields.items():
            if field.source == "*" or "." in field.source:
                continue
            try:
                column = model._meta.get_field(field.source)
            except FieldDoesNotExist:  # a computed field, not a column
                continue
            if getattr(column, "null", False) and not getattr(column, "many_to_many", False) and not field.allow_null:
                offenders.append(f"{cls.__qualname__}.{name}")
    assert offenders == []

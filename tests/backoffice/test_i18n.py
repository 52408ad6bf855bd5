"""The zh-hans catalogue is complete, compiled, and used for API answers and the admin."""

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

CATALOGUES = sorted(Path(settings.BASE_DIR).glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))


def test_every_app_has_a_catalogue():
    apps = {path.parts[-5] for path in CATALOGUES}
    assert {"backoffice", "shops", "agents", "chats"} <= apps


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda p: p.parts[-5])
def test_catalogue_is_complete_and_compiled(po_path):
    po = polib.pofile(str(po_path))
    untranslated = [entry.msgid for entry in po if not entry.translated() and not entry.obsolete]
    assert untranslated == []
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    compiled = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in mo}
    for entry in po.translated_entries():
        if entry.msgid_plural:
            continue
        stale = f"stale .mo: run compilemessages ({entry.msgid})"
        assert compiled.get((entry.msgctxt, entry.msgid)) == entry.msgstr, stale


def test_model_labels_translate(db):
    from shops.models import Shop

    with translation.override("zh-hans"):
        assert str(Shop._meta.verbose_name) == "店铺"


@pytest.mark.django_db
def test_api_errors_follow_accept_language(staff_client, owner_client, shop, other_shop):
    from tests.agents.factories import AgentFactory

    foreign = AgentFactory(shop=other_shop)
    body = {"shop": shop.pk, "name": "售前", "members": [foreign.pk]}
    response = staff_client.post("/api/v1/routing-groups/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json()["members"] == ["必须属于同一店铺。"]
    response = staff_client.post("/api/v1/routing-groups/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["members"] == ["Must belong to the same shop."]

    response = owner_client.patch(
        f"/api/v1/shops/{shop.pk}/", {"timezone": "Mars/Olympus"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert response.json()["timezone"] == ["未知时区“Mars/Olympus”。"]

"""Admin for quick phrases: import (two steps) into one shop, export, form errors from the service's rules."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agents.choices import AgentRole
from agents.models import QuickPhrase
from tests.agents.factories import QuickPhraseFactory

pytestmark = pytest.mark.django_db

PHRASES = "admin:agents_quickphrase"
CSV_TEXT = "scope,shortcut,title,content,category\nteam,/hi,Hi,亲，在的,greeting\npersonal,/me,Me,mine,x\n"


def _import(client, shop, text=CSV_TEXT):
    upload = SimpleUploadedFile("phrases.csv", text.encode("utf-8"), content_type="text/csv")
    response = client.post(
        reverse(f"{PHRASES}_import"), {"resource": "0", "format": "0", "import_file": upload, "shop": shop.pk}
    )
    assert response.status_code == 200
    return response


def test_platform_staff_import_team_phrases_in_two_steps(admin_client, shop):
    response = _import(admin_client, shop, "scope,shortcut,title,content,category\nteam,/hi,Hi,亲，在的,greeting\n")
    assert QuickPhrase.objects.count() == 0  # the first step is a dry run
    confirm = response.context["confirm_form"]
    data = {name: confirm.initial.get(name, "") for name in confirm.fields}
    response = admin_client.post(reverse(f"{PHRASES}_process_import"), data)
    assert response.status_code == 302
    phrase = QuickPhrase.objects.get()
    assert (phrase.shop, phrase.scope, phrase.shortcut, phrase.content) == (shop, "team", "/hi", "亲，在的")


def test_admin_import_shows_bad_rows_and_offers_no_confirm(admin_client, shop):
    response = _import(admin_client, shop)  # platform staff have no personal phrases: row 2 of the data is invalid
    assert response.context["result"].has_validation_errors()
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert QuickPhrase.objects.count() == 0


def test_shop_staff_import_into_their_own_shop_only(shop_staff_admin_client, shop, other_shop):
    client = shop_staff_admin_client(shop, "view_quickphrase", "add_quickphrase", "change_quickphrase")
    response = client.post(
        reverse(f"{PHRASES}_import"),
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile("p.csv", CSV_TEXT.encode()),
            "shop": other_shop.pk,
        },
    )
    assert "shop" in response.context["form"].errors
    response = _import(client, shop)
    confirm = response.context["confirm_form"]
    data = {name: confirm.initial.get(name, "") for name in confirm.fields}
    assert client.post(reverse(f"{PHRASES}_process_import"), data).status_code == 302
    assert set(QuickPhrase.objects.values_list("shop", "scope", "shortcut")) == {
        (shop.pk, "team", "/hi"),
        (shop.pk, "personal", "/me"),
    }
    assert QuickPhrase.objects.get(shortcut="/me").owner.role == AgentRole.OWNER


def test_admin_export_of_selected_phrases(admin_client, shop):
    phrase = QuickPhraseFactory(shop=shop, shortcut="/hi", content="亲，在的")
    response = admin_client.post(
        reverse(f"{PHRASES}_export"),
        {
            "format": "0",
            "resource": "0",
            "export_items": [phrase.pk],
            **{f"quickphraseresource_{name}": "on" for name in ("scope", "shortcut", "title", "content", "category")},
        },
    )
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "team,/hi" in text and "亲，在的" in text


def test_team_phrase_without_subaccounts_is_a_form_error(admin_client, shop):
    shop.subaccounts_enabled = False
    shop.save()
    response = admin_client.post(
        reverse(f"{PHRASES}_add"), {"shop": shop.pk, "scope": "team", "shortcut": "/x", "content": "x", "title": ""}
    )
    assert response.status_code == 200
    assert "scope" in response.context["adminform"].form.errors
    assert QuickPhrase.objects.count() == 0


def test_phrase_changelist_hides_other_shops_from_shop_staff(shop_staff_admin_client, shop, other_shop):
    own = QuickPhraseFactory(shop=shop)
    QuickPhraseFactory(shop=other_shop)
    client = shop_staff_admin_client(shop, "view_quickphrase")
    rows = client.get(reverse(f"{PHRASES}_changelist")).context["cl"].result_list
    assert list(rows) == [own]


def test_import_needs_add_and_change_permissions(shop_staff_admin_client, shop):
    viewer = shop_staff_admin_client(shop, "view_quickphrase")
    upload = SimpleUploadedFile("p.csv", CSV_TEXT.encode())
    response = viewer.post(
        reverse(f"{PHRASES}_import"), {"resource": "0", "format": "0", "import_file": upload, "shop": shop.pk}
    )
    assert response.status_code == 403
    assert QuickPhrase.objects.count() == 0

"""Quick phrases: who sees and manages which, the usage counter, and CSV/XLSX import and export."""

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agents.choices import AgentRole, PhraseScope
from agents.models import QuickPhrase
from tests.agents.factories import AgentFactory, QuickPhraseFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/quick-phrases/"


@pytest.fixture
def colleague(shop):
    return AgentFactory(shop=shop, role=AgentRole.AGENT, display_name="Agent B")


@pytest.fixture
def phrases(shop, agent, colleague, other_shop):
    return {
        "team": QuickPhraseFactory(shop=shop, shortcut="/hi", content="亲，在的"),
        "mine": QuickPhraseFactory(shop=shop, scope=PhraseScope.PERSONAL, owner=agent, shortcut="/ship"),
        "colleague": QuickPhraseFactory(shop=shop, scope=PhraseScope.PERSONAL, owner=colleague, shortcut="/ship"),
        "foreign": QuickPhraseFactory(shop=other_shop, shortcut="/hi"),
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_agent_sees_team_and_own_personal_phrases_only(agent_client, phrases):
    assert _ids(agent_client.get(URL)) == {phrases["team"].pk, phrases["mine"].pk}
    assert agent_client.get(f"{URL}{phrases['colleague'].pk}/").status_code == 404
    assert agent_client.get(f"{URL}{phrases['foreign'].pk}/").status_code == 404


def test_supervisor_does_not_see_agents_personal_phrases(supervisor, phrases):
    assert _ids(client_for(supervisor.user).get(URL)) == {phrases["team"].pk}


def test_integration_clients_see_no_phrases(integration_client, phrases):
    assert _ids(integration_client.get(URL)) == set()


def test_filters_by_scope_and_search(agent_client, phrases):
    assert _ids(agent_client.get(URL, {"scope": "personal"})) == {phrases["mine"].pk}
    assert _ids(agent_client.get(URL, {"search": "在的"})) == {phrases["team"].pk}


def test_agent_creates_personal_phrase_owned_by_itself(agent_client, agent, shop):
    body = {"shop": shop.pk, "scope": "personal", "shortcut": "/bye", "title": "Bye", "content": "再见"}
    response = agent_client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["owner"] == agent.pk
    assert response.json()["usage_count"] == 0


def test_scope_defaults_to_personal(agent_client, agent, shop):
    response = agent_client.post(URL, {"shop": shop.pk, "shortcut": "/x", "content": "x"}, format="json")
    assert response.status_code == 201
    assert (response.json()["scope"], response.json()["owner"]) == ("personal", agent.pk)


def test_agent_may_not_create_or_change_team_phrases(agent_client, shop, phrases):
    response = agent_client.post(URL, {"shop": shop.pk, "scope": "team", "shortcut": "/x", "content": "x"})
    assert response.status_code == 403
    response = agent_client.patch(f"{URL}{phrases['team'].pk}/", {"content": "changed"}, format="json")
    assert response.status_code == 403
    assert agent_client.delete(f"{URL}{phrases['team'].pk}/").status_code == 403
    assert QuickPhrase.objects.get(pk=phrases["team"].pk).content == "亲，在的"


def test_agent_may_not_create_a_phrase_for_a_colleague(agent_client, shop, colleague):
    body = {"shop": shop.pk, "scope": "personal", "owner": colleague.pk, "shortcut": "/x", "content": "x"}
    assert agent_client.post(URL, body, format="json").status_code == 403


def test_agent_edits_and_deletes_own_phrase(agent_client, phrases):
    url = f"{URL}{phrases['mine'].pk}/"
    response = agent_client.patch(url, {"content": "已发货", "scope": "team"}, format="json")
    assert response.status_code == 200
    assert response.json()["content"] == "已发货"
    assert response.json()["scope"] == "personal"  # scope cannot be changed
    assert agent_client.delete(url).status_code == 204
    assert not QuickPhrase.objects.filter(pk=phrases["mine"].pk).exists()


def test_owner_creates_team_phrase(owner_client, shop):
    response = owner_client.post(URL, {"shop": shop.pk, "scope": "team", "shortcut": "/hi", "content": "亲"})
    assert response.status_code == 201
    assert response.json()["owner"] is None


def test_team_phrases_need_subaccounts(owner_client, shop):
    shop.subaccounts_enabled = False
    shop.save()
    response = owner_client.post(URL, {"shop": shop.pk, "scope": "team", "shortcut": "/hi", "content": "亲"})
    assert response.status_code == 400
    assert "scope" in response.json()
    # Personal phrases still work without sub-accounts.
    response = owner_client.post(URL, {"shop": shop.pk, "scope": "personal", "shortcut": "/hi", "content": "亲"})
    assert response.status_code == 201


def test_duplicate_shortcut_is_400_but_personal_may_shadow_team(agent_client, owner_client, shop, phrases):
    response = owner_client.post(URL, {"shop": shop.pk, "scope": "team", "shortcut": "/hi", "content": "again"})
    assert response.status_code == 400
    assert "shortcut" in response.json()
    response = agent_client.post(URL, {"shop": shop.pk, "scope": "personal", "shortcut": "/ship", "content": "x"})
    assert response.status_code == 400
    response = agent_client.post(URL, {"shop": shop.pk, "scope": "personal", "shortcut": "/hi", "content": "mine"})
    assert response.status_code == 201


def test_use_counts_each_use(agent_client, phrases):
    url = f"{URL}{phrases['team'].pk}/use/"
    assert agent_client.post(url).json()["usage_count"] == 1
    response = agent_client.post(url)
    assert response.json()["usage_count"] == 2
    assert response.json()["last_used_at"] is not None
    assert agent_client.post(f"{URL}{phrases['colleague'].pk}/use/").status_code == 404


# --- export and import ---------------------------------------------------------------------------------------


def _csv(text: str, name: str = "phrases.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def _xlsx(rows: list[list], name: str = "phrases.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def _import(client, upload, **extra):
    return client.post(f"{URL}import/", {"file": upload, **extra}, format="multipart")


def test_export_csv_holds_team_and_own_phrases(agent_client, phrases):
    response = agent_client.get(f"{URL}export/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "scope,shortcut,title,content,category,usage_count"
    assert len(lines) == 3  # the team phrase and the agent's own; not the colleague's
    assert "personal,/ship" in text and "team,/hi" in text and "亲，在的" in text


def test_export_xlsx_opens_in_a_spreadsheet(owner_client, phrases):
    response = owner_client.get(f"{URL}export/", {"format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("scope", "shortcut")
    assert [(r[0], r[1]) for r in rows[1:]] == [("team", "/hi")]


def test_export_neutralises_formulas_and_a_reimport_restores_them(owner_client, shop):
    phrase = QuickPhraseFactory(shop=shop, shortcut="/sum", title="+1 快递", content='=HYPERLINK("http://x.example")')
    response = owner_client.get(f"{URL}export/", {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][2:4] == ["'+1 快递", '\'=HYPERLINK("http://x.example")']

    upload = SimpleUploadedFile("phrases.csv", response.content)
    assert _import(owner_client, upload).json() == {"created": 0, "updated": 1, "errors": []}
    phrase.refresh_from_db()
    assert (phrase.title, phrase.content) == ("+1 快递", '=HYPERLINK("http://x.example")')


def test_export_with_unknown_format_is_400(agent_client, phrases):
    response = agent_client.get(f"{URL}export/", {"format": "pdf"})
    assert response.status_code == 400
    assert "format" in response.json()


def test_export_of_another_shop_is_400(agent_client, other_shop):
    response = agent_client.get(f"{URL}export/", {"shop": other_shop.pk})
    assert response.status_code == 400
    assert "shop" in response.json()


def test_csv_round_trip_updates_instead_of_duplicating(owner_client, owner, shop):
    QuickPhraseFactory(shop=shop, shortcut="/hi", content="old text")
    QuickPhraseFactory(shop=shop, scope=PhraseScope.PERSONAL, owner=owner, shortcut="/me", content="mine")
    exported = owner_client.get(f"{URL}export/", {"format": "csv"}).content.decode("utf-8-sig")
    edited = exported.replace("old text", "new text") + "team,/new,New,brand new,misc,\r\n"
    response = _import(owner_client, _csv(edited))
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 2, "errors": []}
    assert QuickPhrase.objects.filter(shop=shop).count() == 3
    assert QuickPhrase.objects.get(shop=shop, shortcut="/hi").content == "new text"
    # The same file again: everything matches, nothing new.
    assert _import(owner_client, _csv(edited)).json() == {"created": 0, "updated": 3, "errors": []}
    assert QuickPhrase.objects.filter(shop=shop).count() == 3


def test_xlsx_round_trip(owner_client, shop):
    QuickPhraseFactory(shop=shop, shortcut="/hi", content="old text")
    exported = owner_client.get(f"{URL}export/", {"format": "xlsx"}).content
    book = openpyxl.load_workbook(io.BytesIO(exported))
    book.active["D2"] = "new text"
    book.active.append(["team", "/size", "Sizes", "S M L", "sizing", None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = _import(owner_client, SimpleUploadedFile("back.xlsx", buffer.getvalue()))
    assert response.json() == {"created": 1, "updated": 1, "errors": []}
    assert QuickPhrase.objects.get(shop=shop, shortcut="/hi").content == "new text"
    assert QuickPhrase.objects.get(shop=shop, shortcut="/size").category == "sizing"


def test_bad_rows_are_reported_by_row_number_and_good_rows_kept(agent_client, agent, shop):
    text = (
        "scope,shortcut,title,content,category\n"
        "personal,/a,A,first,x\n"  # row 2: fine
        "personal,/b,B,,x\n"  # row 3: no content
        "team,/c,C,team row,x\n"  # row 4: agents may not import team phrases
        ",/d,D,blank scope means personal,x\n"  # row 5: fine
        "galaxy,/e,E,unknown scope,x\n"  # row 6: bad scope
    )
    response = _import(agent_client, _csv(text))
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"]) == (2, 0)
    assert [error["row"] for error in body["errors"]] == [3, 4, 6]
    assert "content" in body["errors"][0]["message"]
    assert "owners and supervisors" in body["errors"][1]["message"]
    assert set(QuickPhrase.objects.filter(shop=shop).values_list("shortcut", "owner")) == {
        ("/a", agent.pk),
        ("/d", agent.pk),
    }


def test_xlsx_bad_row_reported_with_spreadsheet_row_number(owner_client, shop):
    rows = [["scope", "shortcut", "content"], ["team", "/ok", "fine"], ["team", None, "no shortcut"]]
    body = _import(owner_client, _xlsx(rows)).json()
    assert body["created"] == 1
    assert [error["row"] for error in body["errors"]] == [3]


def test_row_numbers_count_blank_rows_and_multiline_cells_as_the_file_shows_them(owner_client, shop):
    text = (
        "scope,shortcut,content\n"  # row 1
        'team,/a,"two\nlines"\n'  # row 2 (one record over two lines)
        "\n"  # row 3: blank, skipped
        "team,,no shortcut\n"  # row 4: bad
    )
    body = _import(owner_client, _csv(text)).json()
    assert body["created"] == 1
    assert [error["row"] for error in body["errors"]] == [4]
    assert QuickPhrase.objects.get(shortcut="/a").content == "two\nlines"
    rows = [["scope", "shortcut", "content"], ["team", "/x", "x"], [None, None, None], ["team", "/y", None]]
    body = _import(owner_client, _xlsx(rows)).json()
    assert [error["row"] for error in body["errors"]] == [4]


def test_gb18030_csv_from_excel_is_read(owner_client, shop):
    upload = SimpleUploadedFile("gbk.csv", "scope,shortcut,content\nteam,/hi,亲，您好\n".encode("gb18030"))
    assert _import(owner_client, upload).json()["created"] == 1
    assert QuickPhrase.objects.get(shop=shop).content == "亲，您好"


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("x.csv", b"\x00\x01\x02\xff\xfe garbage"),
        SimpleUploadedFile("x.xlsx", b"PK\x03\x04 not really a zip"),
        SimpleUploadedFile("x.csv", b"just,some,columns\n1,2,3\n"),
        SimpleUploadedFile("x.csv", b""),
    ],
    ids=["binary", "broken-xlsx", "no-shortcut-column", "empty"],
)
def test_unreadable_files_are_400(owner_client, shop, upload):
    response = _import(owner_client, upload)
    assert response.status_code == 400, response.content
    assert "file" in response.json()
    assert QuickPhrase.objects.count() == 0


def test_file_over_one_megabyte_is_400(owner_client, shop):
    big = "scope,shortcut,content\n" + "team,/x,{}\n".format("a" * 1024) * 1100
    response = _import(owner_client, _csv(big))
    assert response.status_code == 400
    assert "file" in response.json()


def test_import_without_file_is_400(owner_client):
    response = owner_client.post(f"{URL}import/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_platform_staff_import_team_phrases_for_a_shop(staff_client, shop):
    text = "scope,shortcut,content\nteam,/hi,亲\npersonal,/me,mine\n"
    response = _import(staff_client, _csv(text), shop=shop.pk)
    body = response.json()
    assert body["created"] == 1
    assert [error["row"] for error in body["errors"]] == [3]
    assert _import(staff_client, _csv(text)).status_code == 400  # which shop?


def test_integration_clients_may_not_import(integration_client, shop):
    response = _import(integration_client, _csv("scope,shortcut,content\nteam,/hi,x\n"), shop=shop.pk)
    assert response.status_code == 403

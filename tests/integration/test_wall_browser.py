"""The live supervision wall in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright through
``executable_path``; no browser download) logs into the admin of a real ASGI server (daphne, HTTP and WebSocket on one
port) on the test database, opens a shop's wall, and sees a chat started through the API queued, then assigned when an
agent comes online, then its wait pass 120 s and 180 s, without a reload.

Screenshots go to the test's temporary directory, and also to ``WALL_SCREENSHOT_DIR`` when it is set (e.g. ``/tmp``):
``wall-queued.png``, ``wall-assigned.png``, ``wall-120s.png``, ``wall-180s.png``, ``wall-zh.png``.
"""

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from agents.choices import AgentRole, AgentStatus
from chats.models import Conversation, Message, Turn
from tests.agents.factories import PASSWORD, AgentFactory, UserFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.shops.factories import IntegrationClientFactory, ShopFactory

from . import processes

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the skip below says what is missing
    sync_playwright = None

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 15_000  # a live update takes well under a second; the page's own periodic refresh is 60 s

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install -r requirements.txt)"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)"
    ),
]


def zone_at_two_pm(now: datetime) -> str:
    """A fixed-offset zone where it is now about 14:00, so the day's first turns fall inside 09:00-21:00."""
    offset = 14 - now.astimezone(UTC).hour
    offset = offset - 24 if offset > 14 else offset + 24 if offset < -12 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs: inverted


class Api:
    """``/api/v1/`` of the server under test, with one caller's token."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(  # noqa: S310 - the loopback server of this test
            f"{self.base}/api/v1/{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            pytest.fail(f"POST {path} answered {error.code}: {error.read()[:500]!r}")


class Server:
    """daphne serving ``backoffice.asgi`` on a free port against the test database; restartable on the same port."""

    def __init__(self, tmp_path: Path):
        self.broker = processes.broker_url()
        self.port = processes.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "daphne.log"
        self.process = None

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/admin/login/", timeout=2) as response:  # noqa: S310 - loopback
                return response.status == 200
        except OSError:
            return False

    def start(self) -> None:
        env = processes.child_env(
            self.broker,
            DJANGO_DEBUG="1",  # static files from the apps (whitenoise's finders) and cookies over plain http
            CELERY_TASK_ALWAYS_EAGER="1",  # no worker here: tasks the API enqueues run in the server
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
        )
        command = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "backoffice.asgi:application",
        ]
        self.process = processes.start(command, env, self.log)
        processes.wait_for(self.answers, processes.READY_SECONDS, self.process, self.log, "daphne to answer")

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)
            self.process = None


@pytest.fixture
def server(tmp_path):
    processes.skip_unless_broker_reachable(processes.broker_url())  # the channel layer (nudges) is Redis
    server = Server(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        print(server.log.read_text()[-3000:])  # shown by pytest when the test fails


@pytest.fixture
def world():
    now = timezone.now()
    shop = ShopFactory(name="Wall shop 旗舰店", bot_enabled=False, queue_enabled=True, timezone=zone_at_two_pm(now))
    manager = UserFactory(username="wall-supervisor", is_staff=True)
    manager.user_permissions.set(Permission.objects.filter(codename__in=["view_wall", "view_conversation"]))
    supervisor = AgentFactory(
        shop=shop, user=manager, role=AgentRole.SUPERVISOR, display_name="Zhou (supervisor)", status=AgentStatus.OFFLINE
    )
    li = AgentFactory(shop=shop, display_name="Li Na", status=AgentStatus.OFFLINE, capacity=1)
    wang = AgentFactory(shop=shop, display_name="Wang Wei", status=AgentStatus.BUSY, capacity=3)
    AgentFactory(shop=shop, display_name="Zhao Lei", status=AgentStatus.OFFLINE, capacity=4)
    # Earlier today (local 10:00-12:00): four first turns, three answered within 180 s.
    local_noon = now.astimezone(shop.tzinfo).replace(hour=12, minute=0, second=0, microsecond=0)
    for hours_before, seconds in ((2, 25), (1.5, 60), (1, 240), (0.5, 95)):
        start = local_noon - timedelta(hours=hours_before)
        done = ConversationFactory(
            shop=shop, agent=wang, status="ended", started_at=start, ended_at=start + timedelta(minutes=20)
        )
        MessageFactory(conversation=done, sender="buyer", sent_at=start)
        MessageFactory(conversation=done, sender="agent", agent=wang, sent_at=start + timedelta(seconds=seconds))
    client = IntegrationClientFactory(shops=[shop])
    tokens = {who: Token.objects.create(user=user).key for who, user in (("client", client.user), ("li", li.user))}
    tokens["supervisor"] = Token.objects.create(user=supervisor.user).key
    return {"shop": shop, "li": li, "wang": wang, "tokens": tokens}


def backdate(conversation_id: int, seconds: float) -> None:
    """Move the chat's unanswered turn (and its buyer message, so the stored turns stay equal to the messages) and,
    while it is queued, its place in the queue."""
    at = timezone.now() - timedelta(seconds=seconds)
    Message.objects.filter(conversation_id=conversation_id, sender="buyer").update(sent_at=at)
    Turn.objects.filter(conversation_id=conversation_id).update(started_at=at)
    Conversation.objects.filter(pk=conversation_id, status="queued").update(queued_at=at)
    # Called under Playwright's event loop, where the ORM's connection is another one than the test's: closed here,
    # so that the test database can be dropped afterwards.
    connection.close()


def start_chat(api: Api, shop_id: int, nick: str, text: str) -> dict:
    buyer = api.post("buyers/", {"nick": nick, "credit_level": 2, "verified": True})
    chat = api.post(
        "conversations/", {"shop": shop_id, "buyer": buyer["id"], "entry_point": "item", "entry_ref": "A-1"}
    )
    api.post(f"conversations/{chat['id']}/messages/", {"sender": "buyer", "body": text})
    return chat


def log_in(page, base: str, next_url: str) -> None:
    page.goto(f"{base}{reverse('admin:login')}?next={next_url}")
    page.fill("#id_username", "wall-supervisor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}{next_url}")


def test_wall_shows_a_chat_queued_then_assigned_then_late_without_a_reload(server, world, tmp_path, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls between its steps are plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shop = world["shop"]
    wall_url = reverse("admin:chats_wall_change", args=[shop.pk])
    base = server.base
    integration = Api(base, world["tokens"]["client"])
    shots = []

    def shot(page, name):
        path = tmp_path / name
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000}, locale="en-US")
            log_in(page, base, wall_url)
            expect(page.locator("#wall-connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
            expect(page.locator("#wall-rate")).to_have_text("75%")  # 3 of the day's 4 first turns within 180 s
            navigations = []
            page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
            page.evaluate("window.wallTestMarker = 'same page'")

            first = start_chat(integration, shop.pk, "taobao_buyer_01", "请问这件有货吗？")
            assert first["status"] == "queued"
            row = page.locator(f'#wall-waiting tr[data-conversation="{first["id"]}"]')
            expect(row).to_have_attribute("data-state", "queued", timeout=WAIT_MS)
            expect(page.locator("#wall-queue-length")).to_have_text("1")
            shot(page, "wall-queued.png")

            Api(base, world["tokens"]["li"]).post(f"agents/{world['li'].pk}/status/", {"status": "online"})
            expect(row).to_have_attribute("data-state", "assigned", timeout=WAIT_MS)
            expect(row.locator("td.agent")).to_have_text("Li Na")
            expect(page.locator("#wall-queue-length")).to_have_text("0")
            expect(page.locator(f'#wall-agents tr[data-agent="{world["li"].pk}"]')).to_have_attribute(
                "data-status", "online"
            )
            shot(page, "wall-assigned.png")

            # Past 120 s: the wait is moved back, and the next event (a second chat, queued: Li Na is full) redraws.
            backdate(first["id"], 130)
            second = start_chat(integration, shop.pk, "tmall_buyer_02", "发货了吗？订单号 A-1")
            second_row = page.locator(f'#wall-waiting tr[data-conversation="{second["id"]}"]')
            expect(second_row).to_have_attribute("data-state", "queued", timeout=WAIT_MS)
            expect(row).to_have_attribute("data-level", "at_risk", timeout=WAIT_MS)
            shot(page, "wall-120s.png")

            # Past 180 s: missed; the second chat past 120 s. An agent's status change is the event that redraws.
            backdate(first["id"], 190)
            backdate(second["id"], 125)
            supervisor = Api(base, world["tokens"]["supervisor"])
            supervisor.post(f"agents/{world['wang'].pk}/status/", {"status": "away"})
            expect(row).to_have_attribute("data-level", "missed", timeout=WAIT_MS)
            expect(second_row).to_have_attribute("data-level", "at_risk", timeout=WAIT_MS)
            expect(page.locator(f'#wall-agents tr[data-agent="{world["wang"].pk}"]')).to_have_attribute(
                "data-status", "away"
            )
            expect(page.locator("#wall-rate")).to_have_text("60%")  # the first chat's first turn is now missed
            shot(page, "wall-180s.png")

            assert page.evaluate("window.wallTestMarker") == "same page"
            assert navigations == []
            assert page.url == f"{base}{wall_url}"

            chinese = browser.new_page(
                viewport={"width": 1600, "height": 1000},
                locale="zh-CN",
                extra_http_headers={"Accept-Language": "zh-hans"},
            )
            log_in(chinese, base, wall_url)
            expect(chinese.locator("#wall-connection")).to_have_text("实时", timeout=WAIT_MS)
            expect(chinese.locator("#kpi-rate .kpi-label")).to_contain_text("今日 3 分钟响应率")
            expect(chinese.locator(f'#wall-waiting tr[data-conversation="{first["id"]}"]')).to_have_attribute(
                "data-level", "missed"
            )
            shot(chinese, "wall-zh.png")
        finally:
            browser.close()

    target = os.environ.get("WALL_SCREENSHOT_DIR")
    if target:
        for path in shots:
            shutil.copy(path, Path(target) / path.name)


def test_wall_reconnects_after_the_server_restarts_and_resumes_from_the_last_event(server, world, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shop = world["shop"]
    wall_url = reverse("admin:chats_wall_change", args=[shop.pk])
    integration = Api(server.base, world["tokens"]["client"])
    auth_frames = []

    def watch(socket):
        socket.on("framesent", lambda payload: auth_frames.append(json.loads(payload)))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.on("websocket", watch)
            log_in(page, server.base, wall_url)
            badge = page.locator("#wall-connection")
            expect(badge).to_have_attribute("data-state", "live", timeout=WAIT_MS)
            first = start_chat(integration, shop.pk, "buyer_before", "在吗？")
            expect(page.locator(f'#wall-waiting tr[data-conversation="{first["id"]}"]')).to_be_visible(timeout=WAIT_MS)
            page.evaluate("window.wallTestMarker = 'same page'")
            page.wait_for_timeout(500)  # the chat's last events (its message) have arrived
            seen = page.evaluate("window.supervisionWall.lastId")
            assert seen > 0

            server.stop()
            expect(badge).to_have_attribute("data-state", "reconnecting", timeout=WAIT_MS)
            server.start()
            expect(badge).to_have_attribute("data-state", "live", timeout=WAIT_MS)
            second = start_chat(integration, shop.pk, "buyer_after", "有优惠吗？")
            expect(page.locator(f'#wall-waiting tr[data-conversation="{second["id"]}"]')).to_be_visible(timeout=WAIT_MS)

            auths = [frame for frame in auth_frames if frame.get("type") == "auth"]
            assert len(auths) >= 2 and all("token" not in frame for frame in auths)  # the session authenticates
            assert auths[0]["after"] is None and auths[-1]["after"] == seen
            assert page.evaluate("window.wallTestMarker") == "same page"
        finally:
            browser.close()

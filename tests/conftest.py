import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from agents.choices import AgentRole
from tests.agents.factories import AgentFactory, StaffUserFactory, UserFactory
from tests.shops.factories import IntegrationClientFactory, ShopFactory


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests (row locks, concurrency) are skipped when the suite runs on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After every passing test that used the database, the stored turns must equal what the messages give: every
    writer of messages keeps them (``chats.turns.store``), and the daily metrics trust them."""
    result = yield
    if item.get_closest_marker("django_db") or DB_FIXTURES & set(getattr(item, "fixturenames", ())):
        from chats.selectors import turns_out_of_sync

        stale = turns_out_of_sync()
        assert not stale, f"stored turns out of sync with the messages of conversations {stale[:10]}"
    return result


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def shop(db):
    return ShopFactory(name="Shop A")


@pytest.fixture
def other_shop(db):
    return ShopFactory(name="Shop B")


@pytest.fixture
def owner(shop):
    return AgentFactory(shop=shop, role=AgentRole.OWNER, display_name="Owner A")


@pytest.fixture
def supervisor(shop):
    return AgentFactory(shop=shop, role=AgentRole.SUPERVISOR, display_name="Supervisor A")


@pytest.fixture
def agent(shop):
    return AgentFactory(shop=shop, role=AgentRole.AGENT, display_name="Agent A")


@pytest.fixture
def integration(shop):
    return IntegrationClientFactory(shops=[shop])


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


@pytest.fixture
def owner_client(owner):
    return client_for(owner.user)


@pytest.fixture
def agent_client(agent):
    return client_for(agent.user)


@pytest.fixture
def integration_client(integration):
    return client_for(integration.user)


@pytest.fixture
def staff_client(staff_user):
    return client_for(staff_user)


@pytest.fixture(autouse=True)
def _assistant_caches():
    """The assistant's per-process indexes start empty in every test (ids may repeat after a rollback)."""
    from chats.assistant.assist import phrase_index_cache_clear
    from chats.assistant.index import index_cache_clear

    index_cache_clear()
    phrase_index_cache_clear()
    yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    """Files the code writes (exports) go to a temporary MEDIA_ROOT, never to var/media."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def shop_staff_admin_client(db):
    """Log a shop's staff into the admin: ``shop_staff_admin_client(shop, "view_order", role=...)``.

    Each call makes a staff user with a sub-account in ``shop`` (an owner unless ``role`` says otherwise) and the
    given permission codenames, and returns a fresh Django test client logged in as that user.
    """

    def login(shop, *codenames: str, role: str = AgentRole.OWNER) -> Client:
        user = UserFactory(is_staff=True)
        AgentFactory(shop=shop, user=user, role=role)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        client = Client()
        client.force_login(user)
        return client

    return login

import pytest

from events.live import hubs_close


@pytest.fixture(autouse=True)
def _close_the_hubs():
    """Each test's event loop gets a hub with a database thread of its own: close its connection afterwards, so no
    connection outlives the test (PostgreSQL could not drop the test database, and other tests count connections)."""
    yield
    hubs_close()

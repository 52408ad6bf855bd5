"""Run one piece of work in several threads at once, each on its own database connection (PostgreSQL tests)."""

import threading
from collections.abc import Callable

from django.db import close_old_connections, connection


def run_together(count: int, work: Callable[[], object], *, timeout: float = 60) -> list:
    """Start ``count`` threads behind a barrier so they call ``work`` together; their outcomes, or error class names."""
    results, barrier, lock = [], threading.Barrier(count), threading.Lock()

    def run():
        try:
            barrier.wait()
            outcome = work()
        except Exception as error:  # noqa: BLE001 -- the outcome is what the test compares
            outcome = type(error).__name__
        finally:
            close_old_connections()
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results

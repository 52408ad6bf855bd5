"""The one source of randomness behind system rating invites.

Nothing an agent does reaches it; tests swap it for a seeded ``random.Random`` with ``use_random_source``.
"""

import random
from contextlib import contextmanager

_source: random.Random = random.SystemRandom()


def random_source() -> random.Random:
    return _source


@contextmanager
def use_random_source(source: random.Random):
    global _source
    previous, _source = _source, source
    try:
        yield source
    finally:
        _source = previous

"""Demo data for a local run (``manage.py seed_demo``): three shops with staff, buyers, orders and a month of chats.

Everything is generated in memory from one seeded random source and written with ``bulk_create``, so one seed
always gives the same data (relative to the moment it runs) within seconds, even on SQLite.
"""

from .content import DEMO_PASSWORD, DEMO_SHOP_NAMES, SHOPS, ShopSpec
from .reset import demo_reset, demo_shops_present, demo_usernames
from .seeder import DemoSeeder

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_SHOP_NAMES",
    "SHOPS",
    "DemoSeeder",
    "ShopSpec",
    "demo_reset",
    "demo_shops_present",
    "demo_usernames",
]

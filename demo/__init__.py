"""Demo data for a local run (``manage.py seed_demo``): three shops with staff, buyers, orders and a month of chats.

Everything is generated in memory from one seeded random source and written with ``bulk_create`` (messages through
their one writer, ``chats.lifecycle.messages.messages_bulk_write``, which keeps the turns), so one seed always gives
the same data (relative to the moment it runs) within seconds, even on SQLite. The top layer: it may import any app.

Modules: ``content`` (the shops, staff and phrases), ``chat`` (one chat's messages), ``seeder`` (``DemoSeeder``),
``ratings``, ``workbench`` (quick phrases, auto-replies, follow-up tasks) and ``reset``. Nothing is re-exported here:
Django imports this package while it loads the apps, before any model may be imported.
"""

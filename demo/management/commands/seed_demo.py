"""``manage.py seed_demo``: fill the database with a realistic demo (three shops, a month of chats)."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from demo.content import DEMO_PASSWORD, SHOPS
from demo.reset import demo_reset, demo_shops_present
from demo.seeder import DemoSeeder


class Command(BaseCommand):
    help = "Create demo shops, staff, buyers, orders and ~2,000 chats of the last 30 days (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20221111, help="Random seed: one seed, one data set.")
        parser.add_argument("--reset", action="store_true", help="Delete the demo shops and their data, then rebuild.")
        parser.add_argument("--conversations", type=int, default=2000, help="How many conversations to create.")
        parser.add_argument("--buyers", type=int, default=600, help="How many buyers to create.")
        parser.add_argument(
            "--now",
            type=datetime.fromisoformat,
            default=None,
            help="Pretend it is this moment (ISO 8601 with offset): the same seed and moment give the same data.",
        )

    def handle(self, *args, seed, reset, conversations, buyers, now, **options):
        if now is not None and timezone.is_naive(now):
            raise CommandError("--now needs a time zone offset, e.g. 2026-11-11T20:00:00+08:00.")
        present = demo_shops_present()
        if present and not reset:
            self.stdout.write(f"Demo data already present ({len(present)} shops); --reset rebuilds it.")
        else:
            try:
                # One transaction: a rebuild that fails leaves the previous demo in place.
                with transaction.atomic():
                    if present:
                        deleted = demo_reset()
                        summary = ", ".join(f"{count:,} {label}" for label, count in deleted.items())
                        self.stdout.write(f"Removed the previous demo: {summary}")
                    DemoSeeder(
                        seed=seed,
                        now=now or timezone.now(),
                        conversations=conversations,
                        buyers=buyers,
                        progress=self.stdout.write,
                    ).run()
            except (ValueError, ProtectedError) as error:
                raise CommandError(str(error)) from error
            self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for spec in SHOPS:
            self.stdout.write(
                f"  {spec.name} ({spec.platform}, {spec.timezone}): owner {spec.key}_owner, "
                f"supervisor {spec.key}_lead, agents {spec.key}_01 … {spec.key}_{len(spec.agent_names):02d}"
            )

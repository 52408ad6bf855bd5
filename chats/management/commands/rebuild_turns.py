"""``rebuild_turns [--shop S] [--check]``: re-derive the stored turns from the messages, shop by shop."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from chats.selectors import turns_out_of_sync
from chats.turns import ConversationFilter
from chats.turns.store import turns_rebuild
from shops.models import Shop


class Command(BaseCommand):
    help = (
        "Re-derive the stored buyer turns (which the daily metrics read) from the messages, one shop per "
        "transaction: after messages were written in bulk outside the services. --check only reports the "
        "conversations whose turns differ, and exits with 1 if there are any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--shop", type=int, action="append", dest="shops", help="shop id (repeatable); all by default"
        )
        parser.add_argument("--check", action="store_true", help="report, change nothing")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, shops=None, check=False, no_progress=False, **options):
        ids = list(Shop.objects.order_by("pk").values_list("pk", flat=True))
        if shops:
            missing = set(shops) - set(ids)
            if missing:
                raise CommandError(f"No shop with id {', '.join(map(str, sorted(missing)))}.")
            ids = sorted(set(shops))
        changed, turns = [], 0
        for shop_id in tqdm(ids, unit="shop", disable=no_progress or len(ids) == 1, file=self.stderr._out):
            conversations = ConversationFilter(shop_ids=[shop_id])
            if check:
                changed += turns_out_of_sync(conversations=conversations)
            else:
                turns += turns_rebuild(conversations=conversations)
        if check:
            self.stdout.write(f"{len(changed)} conversation(s) with turns out of date: {changed[:20]}")
            if changed:
                raise SystemExit(1)
            return
        self.stdout.write(f"{len(ids)} shop(s), {turns} turns stored.")

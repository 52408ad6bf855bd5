"""``rollup_metrics --date D [--shop S]`` recomputes one day; ``--from D1 --to D2`` backfills with a progress bar."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from evaluations.services import daily_metrics_rollup
from shops.models import Shop


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from error


class Command(BaseCommand):
    help = (
        "Recompute the daily service-diagnosis metrics of shop-local days, idempotently (each day's rows are "
        "replaced). Days are computed in order, so the 7-day badge and stars of a backfill use the days before."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", type=_date, help="one local day, YYYY-MM-DD")
        parser.add_argument("--from", dest="date_from", type=_date, help="first day of a backfill")
        parser.add_argument("--to", dest="date_to", type=_date, help="last day of a backfill (included)")
        parser.add_argument(
            "--shop", type=int, action="append", dest="shops", help="shop id (repeatable); all by default"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, date=None, date_from=None, date_to=None, shops=None, no_progress=False, **options):
        if date is not None and (date_from or date_to):
            raise CommandError("Give --date, or --from and --to, not both.")
        if date is not None:
            date_from = date_to = date
        if date_from is None or date_to is None:
            raise CommandError("Give --date D, or --from D1 --to D2.")
        if date_from > date_to:
            raise CommandError("--from must not be after --to.")
        if shops:
            missing = set(shops) - set(Shop.objects.filter(pk__in=shops).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No shop with id {', '.join(map(str, sorted(missing)))}.")
        days = [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]
        written = 0
        bar = tqdm(days, unit="day", disable=no_progress or len(days) == 1, file=self.stderr._out)
        for day in bar:
            bar.set_postfix_str(day.isoformat())
            written += daily_metrics_rollup(day=day, shop_ids=shops)
        self.stdout.write(f"{len(days)} day(s), {written} metric rows written.")

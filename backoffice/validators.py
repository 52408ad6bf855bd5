"""Times and dates the back office accepts, from the API (bodies and filters) and from admin forms alike.

Between 2000-01-01 and 2100-01-01 (UTC), with a real-world UTC offset: nothing in this business happened earlier,
far dates would come back with historic local offsets (``+08:05:43``) that are not valid RFC 3339, time-zone
arithmetic overflows near year 1 and 9999, and the database refuses offsets beyond ±15:59.
"""

from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_OFFSET = timedelta(hours=14)  # the widest UTC offset in use (Kiribati); the database refuses far wider ones
OUT_OF_RANGE = _("Must be between 2000-01-01 and 2100-01-01.")
FIRST_DAY, LAST_DAY = EARLIEST.date(), (LATEST - timedelta(days=1)).date()
DAY_OUT_OF_RANGE = _("Give a date from %(first)s to %(last)s.")
BAD_OFFSET = _("The UTC offset must be within ±14:00.")


def validate_moment(moment: datetime) -> None:
    """A time the API accepts, in a body or a filter: in 2000..2100 and with a real-world UTC offset."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise DjangoValidationError(BAD_OFFSET, code="bad_offset")
    if not EARLIEST <= moment < LATEST:
        raise DjangoValidationError(OUT_OF_RANGE, code="out_of_range")


def validate_day(day: date) -> None:
    """A local date the API accepts (a filter, a plan's day): 2000-01-01 to 2099-12-31, like times."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DjangoValidationError(
            DAY_OUT_OF_RANGE, code="out_of_range", params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
        )

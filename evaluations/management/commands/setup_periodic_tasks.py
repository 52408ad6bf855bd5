"""``setup_periodic_tasks`` writes the beat schedules declared in ``backoffice/schedules.py``; run it on deploy."""

from django.core.management.base import BaseCommand

from backoffice.schedules import periodic_tasks_apply


class Command(BaseCommand):
    help = (
        "Create or update the Celery beat schedules declared in backoffice/schedules.py (by name), and point rows "
        "naming a renamed task at its new name. An existing schedule keeps its enabled switch. Safe to repeat."
    )

    def handle(self, *args, **options):
        applied = periodic_tasks_apply()
        for label, names in (("created", applied.created), ("updated", applied.updated)):
            for name in names:
                self.stdout.write(f"{label}: {name}")
        if applied.renamed:
            self.stdout.write(f"renamed the task of {applied.renamed} other periodic task(s)")
        self.stdout.write(
            f"{len(applied.created)} created, {len(applied.updated)} updated, {len(applied.unchanged)} unchanged."
        )

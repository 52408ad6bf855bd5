"""``manage.py ensure_demo_admin``: a superuser for the local demo, with a fresh random password each run."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Create the demo superuser (or reset its password) and print the new random password. DEBUG only."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (it resets a superuser's password)."
        )

    @transaction.atomic
    def handle(self, *args, username, force, **options):
        # Resetting a superuser's password on a real deployment would lock its owner out: local runs only.
        if not settings.DEBUG and not force:
            raise CommandError("ensure_demo_admin resets a superuser's password; it runs only with DJANGO_DEBUG=1.")
        User = get_user_model()
        password = secrets.token_urlsafe(12)
        user, created = User.objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Reset the password of"
        self.stdout.write(self.style.SUCCESS(f"{verb} the demo admin (/admin/): user {username}  password {password}"))

"""Create the demo logins a newcomer needs on a first run. Safe to run again: it changes nothing twice."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo admin (once) and print its login."

    def handle(self, *args: object, **options: object) -> None:
        username, password = settings.DEMO_ADMIN_USERNAME, settings.DEMO_ADMIN_PASSWORD
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True, "email": f"{username}@example.org"}
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        verb = "created" if created else "exists"
        self.stdout.write(f"Demo admin ({verb}): username {username!r}, password {password!r}")

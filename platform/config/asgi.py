import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django_application = get_asgi_application()

from core.upload_gate import UploadGateASGI  # noqa: E402 - after Django is set up

# Uploads over the limit, and model uploads from non-admins, are refused from their headers: Django's ASGI handler
# would read the whole body first.
application = UploadGateASGI(django_application)

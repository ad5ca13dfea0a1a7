"""The media storage on the local filesystem: Django's FileSystemStorage, except that a write that fails part-way (a
full disk, a read-only mount) leaves no partial file behind. Django keeps the partial file, and since the field
never gets its name, the service that rolls back the failed upload cannot remove it."""

from __future__ import annotations

import os
from typing import Any

from django.core.files.storage import FileSystemStorage


class MediaFileSystemStorage(FileSystemStorage):
    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        existed = os.path.lexists(full_path)
        try:
            return super()._save(name, content)
        except OSError:
            # Only a file this call created: Django opens with O_EXCL, so one that existed is never written.
            if not existed and os.path.lexists(full_path):
                os.remove(full_path)
            raise

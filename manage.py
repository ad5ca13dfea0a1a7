#!/usr/bin/env python
"""Django's command-line utility. Puts the platform/ source root on sys.path first."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main() -> None:
    # platform/ is a source root, never a package: `platform` is a stdlib module.
    sys.path.insert(0, str(ROOT / "platform"))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

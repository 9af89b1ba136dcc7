#!/usr/bin/env python
"""Django's command-line utility for City Vibes."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityvibes_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:  # missing or bad configuration: say why in one line
        sys.exit(f"ImproperlyConfigured: {error}")


if __name__ == "__main__":
    main()

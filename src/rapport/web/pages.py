"""Console pages. (Placeholder until the console lands: mounts nothing.)"""

from __future__ import annotations

from fastapi import FastAPI


def mount_console(app: FastAPI) -> None:
    """Add the console's routes and static files to the app."""

"""Files shipped inside the package, found the same way in a checkout and in an installed wheel."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def templates_folder() -> Path:
    """The top-level `templates/` package."""
    return Path(str(files("templates")))


def demo_data_folder() -> Path:
    """The bundled demo set (real published records, see its SOURCES.md)."""
    return Path(str(files("portal").joinpath("demo_data")))


def migrations_folder() -> Path:
    return Path(str(files("portal").joinpath("migrations")))


def demo_sources_file() -> Path:
    """The sources file of the registers shipped with the demo (CSV slices of Chicago and Montréal)."""
    return demo_data_folder() / "sources.toml"

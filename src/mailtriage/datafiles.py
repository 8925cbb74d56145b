"""Finding the folders that ship beside the code: `migrations/` and `templates/`.

They live at the top of the repository (where people look for them) and inside the wheel as
`mailtriage/<name>` (see pyproject.toml); an installed package finds the second, a checkout
running from `src/` the first.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_dir(name: str) -> Path | None:
    """The shipped folder `name`, or None when this installation lacks it."""
    packaged = resources.files("mailtriage") / name
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[2] / name
    return source_tree if source_tree.is_dir() else None

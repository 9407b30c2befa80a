"""Store tests damage and half-build stores on purpose: their ``store`` is not checked at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store


@pytest.fixture
def store(store_root: Path) -> Iterator[Store]:
    s = Store.open(store_root)
    yield s
    s.close()

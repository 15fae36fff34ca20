"""Keep the global error-table registry and the unmapped-error counter as each test found them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker_integration.errors import (
    register_error_table,
    registered_error_tables,
    reset_unmapped_error_counts,
    unregister_error_table,
)


@pytest.fixture(autouse=True)
def _clean_error_registry() -> Iterator[None]:
    before = registered_error_tables()
    reset_unmapped_error_counts()
    yield
    for name in registered_error_tables():
        if name not in before:
            unregister_error_table(name)
    for name, table in before.items():
        register_error_table(name, table, replace=True)
    reset_unmapped_error_counts()

"""Client order ids: unique per intent, also across a fork, in the documented shape."""

from __future__ import annotations

import os
import re

import pytest

from broker_integration.models import UnifiedOrder, new_client_order_id

SHAPE = re.compile(r"^bi-[0-9a-f]{32}$")


def test_ids_are_unique_and_well_formed() -> None:
    ids = [new_client_order_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(SHAPE.match(i) for i in ids)
    order = UnifiedOrder(instrument="EUR/USD", side="buy", quantity=1)  # type: ignore[arg-type]
    assert SHAPE.match(order.order_id)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        os.write(write_end, "\n".join(new_client_order_id() for _ in range(100)).encode())
        os.close(write_end)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = pipe.read().split("\n")
    os.waitpid(pid, 0)
    parent = [new_client_order_id() for _ in range(100)]
    assert len(child) == 100
    assert not set(child) & set(parent)
    assert {c[:19] for c in child}.isdisjoint({p[:19] for p in parent})

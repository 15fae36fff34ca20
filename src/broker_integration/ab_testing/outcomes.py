"""What one order did in an A/B test: its routing decision (:class:`Assignment`) and, once the broker
answered, its measured :class:`~broker_integration.tca.Execution`.

The measurement itself lives in :mod:`broker_integration.tca`, the one place execution quality is computed,
so the A/B log and the metrics collector agree; ``Execution`` and ``measure_execution`` are re-exported here
for the import path earlier versions documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from broker_integration.tca import Execution, measure_execution

__all__ = ["Assignment", "Execution", "OrderRecord", "measure_execution"]


@dataclass(frozen=True)
class Assignment:
    """One routing decision, logged before the order is sent.

    ``attempt`` 0 is the randomised assignment that the analysis uses; a failover to another arm is
    attempt 1, 2 ... with ``failover_from`` set. ``probabilities`` is every arm's probability at that
    decision, so that sample-ratio checks and inverse-propensity estimates can use the logged design.
    """

    test_id: str
    client_order_id: str
    attempt: int
    arm: str
    propensity: float
    probabilities: dict[str, float]
    explore: bool
    sticky_key: str | None
    assigned_at: datetime
    failover_from: str | None = None


@dataclass(frozen=True)
class OrderRecord:
    """An assignment and, once the broker answered, its execution."""

    assignment: Assignment
    execution: Execution | None = None

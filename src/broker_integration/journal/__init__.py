"""The order journal: intents written before orders are sent, outcomes settled on the broker's evidence.

:class:`OrderJournal` keeps one row per (broker, client order id) in the store; the pipeline's journal stage
uses it for every ``place_order`` of an adapter it is attached to (``build_pipeline(adapter, journal=...)``,
or the factory given a store). See :mod:`broker_integration.journal.journal` for the rules.

On PostgreSQL one journal serves several processes or hosts: intents are written once per client order id,
and :mod:`broker_integration.journal.cluster` keeps each instance's liveness and one leader per broker that
settles the intents of instances that died.
"""

from broker_integration.journal.journal import JournalEntry, OrderJournal

__all__ = ["JournalEntry", "OrderJournal"]

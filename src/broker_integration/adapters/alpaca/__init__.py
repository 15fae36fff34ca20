"""Alpaca (Trading API v2, Market Data API v2): for now its error table (:mod:`.errors`) and hosts
(:mod:`.hosts`).

There is no Alpaca adapter yet: the factory cannot create one, and ``"alpaca"`` is not a registered adapter
name. The table is here so that :func:`broker_integration.errors.map_broker_error` maps Alpaca's errors for a
user's own Alpaca adapter.
"""

"""The parts of performance metrics; the public names are re-exported by
:mod:`broker_integration.performance_metrics`.

``histograms`` (HdrHistogram set-up and reading), ``buckets`` (minute buckets), ``quotes`` (arrival
mids), ``recorder`` (the event hot path), ``repository`` (store or memory), ``periods`` (windows),
``aggregate`` and ``summary`` (metrics of a window), ``scoring``, ``significance``, ``comparison`` and
``recommendations`` (comparing brokers), ``health`` and ``alerts``, ``benchmark``, ``export``,
``prometheus`` and ``persisted`` (exports), ``collector`` (the orchestrator) and ``cli`` (commands).
"""

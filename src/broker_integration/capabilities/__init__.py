"""The parts of capability discovery; the public entry points are in :mod:`broker_integration.capability_discovery`.

``profile`` (the result), ``options``, ``state`` (findings while discovering), ``static``, ``probes``
(dynamic), ``testorders`` + ``synthetic`` + ``cleanup`` (test orders), ``diff``, ``cache``, ``schedule``,
``pretrade`` (the pipeline stage) and ``cli`` (``broker-integration discover``).
"""

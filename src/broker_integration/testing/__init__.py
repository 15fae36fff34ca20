"""Helpers for testing code that uses brokers: an in-memory broker and an adapter conformance suite.

:class:`MockBrokerAdapter` is importable from here. The conformance suite lives in
``broker_integration.testing.conformance`` and is imported only by test modules, since it needs pytest.
"""

from broker_integration.testing.mock import MockBrokerAdapter

__all__ = ["MockBrokerAdapter"]

"""The seed's module name for performance metrics: every public name of :mod:`broker_integration.metrics`."""

from broker_integration.metrics import *  # noqa: F403 - this module is that package's surface under the seed's name
from broker_integration.metrics import __all__ as __all__

"""The seed's module name for capability discovery: every public name of :mod:`broker_integration.capabilities`."""

from broker_integration.capabilities import *  # noqa: F403 - this module is that package's surface under the seed's name
from broker_integration.capabilities import __all__ as __all__

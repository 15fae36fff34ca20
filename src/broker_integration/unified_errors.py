"""The seed's module name for standard errors: every public name of :mod:`broker_integration.errors`."""

from broker_integration.errors import *  # noqa: F403 - this module is that package's surface under the seed's name
from broker_integration.errors import __all__ as __all__

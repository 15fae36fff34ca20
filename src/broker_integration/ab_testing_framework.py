"""The seed's module name for A/B testing: every public name of :mod:`broker_integration.ab_testing`."""

from broker_integration.ab_testing import *  # noqa: F403 - this module is that package's surface under the seed's name
from broker_integration.ab_testing import __all__ as __all__

"""``broker-integration demo``: the library's main job end to end, on embedded venues, offline.

An OANDA v20 simulator on a free loopback port and three paper venues with different execution profiles
are created through the factory from the example configuration; their capabilities are discovered; an A/B
test routes a few thousand orders across them while the metrics collector measures every call; the
results are printed and written to one self-contained HTML report.

* :func:`run_demo` (:mod:`.run`) does the run and returns a :class:`DemoResult`;
* :class:`ConsoleObserver` and :func:`print_outcome` (:mod:`.console`) show it on a terminal;
* :func:`write_report` (:mod:`.report`) writes the HTML report.
"""

from typing import TYPE_CHECKING

from broker_integration.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from broker_integration.demo.console import ConsoleObserver, print_outcome
    from broker_integration.demo.observer import RunObserver
    from broker_integration.demo.options import DemoError, DemoOptions, RoutingChoice
    from broker_integration.demo.report import FIGURES_ID, read_figures, render_report, write_report
    from broker_integration.demo.result import DemoResult
    from broker_integration.demo.run import run_demo

#: Imported on first use: the demo's modules pull in the simulators, the A/B framework and the metrics,
#: which a command that only reads ``DemoOptions`` does not need.
__getattr__ = lazy_exports(
    __name__,
    {
        "ConsoleObserver": "broker_integration.demo.console",
        "print_outcome": "broker_integration.demo.console",
        "RunObserver": "broker_integration.demo.observer",
        "DemoError": "broker_integration.demo.options",
        "DemoOptions": "broker_integration.demo.options",
        "RoutingChoice": "broker_integration.demo.options",
        "FIGURES_ID": "broker_integration.demo.report",
        "read_figures": "broker_integration.demo.report",
        "render_report": "broker_integration.demo.report",
        "write_report": "broker_integration.demo.report",
        "DemoResult": "broker_integration.demo.result",
        "run_demo": "broker_integration.demo.run",
    },
)

__all__ = [
    "FIGURES_ID",
    "ConsoleObserver",
    "DemoError",
    "DemoOptions",
    "DemoResult",
    "RoutingChoice",
    "RunObserver",
    "print_outcome",
    "read_figures",
    "render_report",
    "run_demo",
    "write_report",
]

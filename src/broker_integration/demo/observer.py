"""``RunObserver``: what a demo run tells whoever watches it. The base class ignores everything (quiet)."""

from __future__ import annotations

from collections.abc import Sequence

from broker_integration.demo.discovery import DiscoveryRun
from broker_integration.demo.flow import RoutedOrder
from broker_integration.demo.venues import DemoVenues
from broker_integration.metrics.alerts import AlertEvent

__all__ = ["RunObserver"]


class RunObserver:
    """Hooks called as a run goes; subclass and override the ones you want (all default to nothing)."""

    def phase(self, title: str) -> None:
        """A new step of the run begins."""

    def note(self, text: str) -> None:
        """Something the run could not do as configured and went on without (one line)."""

    def venues_ready(self, venues: DemoVenues) -> None:
        """The simulator runs and every configured venue is created and authenticated."""

    def discovery_done(self, runs: Sequence[DiscoveryRun]) -> None:
        """Every venue was discovered at every depth."""

    def orders_started(self, total: int, arms: Sequence[str]) -> None:
        """The A/B test is running and ``total`` orders are about to be routed across ``arms``."""

    def order_done(self, routed: RoutedOrder) -> None:
        """One order finished (called on the event loop: keep it cheap)."""

    def orders_finished(self) -> None:
        """Every order finished."""

    def alert(self, event: AlertEvent) -> None:
        """The metrics collector's alert rules fired or resolved an alert."""

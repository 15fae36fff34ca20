"""Making the ccxt exchange object an adapter drives: ccxt imported here and only here, when an adapter is
made; the exchange id checked against ccxt's list; the endpoints chosen; one rate limiter.

* ccxt missing: a :class:`~broker_integration.config.errors.ConfigError` saying to install
  ``broker-integration[ccxt]``; an unknown exchange id: one naming the closest ids ccxt knows.
* Where it connects: ``endpoints.base_url`` (a simulator, a proxy) replaces the scheme and host of every
  REST URL in ccxt's ``urls['api']`` and ``endpoints.stream_url`` those of every websocket URL, paths kept;
  without them a LIVE credential uses the exchange's production URLs and any other environment its sandbox
  (``urls['test']``, ccxt's ``set_sandbox_mode``), refused for an exchange that has none rather than
  trading real money by mistake.
* One rate limiter, ours: ccxt's own (``enableRateLimit``) is switched off and the pipeline's limiter paces
  calls from the exchange's published pace (:mod:`.capabilities`). Ours sees every call of every adapter in
  one place (configuration, hot reload, the capability profile's limits) and keeps its wait out of the
  venue's measured latency; ccxt's waits inside the call, where a latency measurement cannot tell them apart.
* ccxt's websocket classes (``ccxt.pro``) serve REST calls too: the object is made from ``ccxt.pro`` when a
  stream is to use websockets, so one object, one session and one limiter setting serve both.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from broker_integration.adapters.ccxt.config import CcxtOptions
from broker_integration.config.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from types import ModuleType

    from broker_integration.broker_config import BrokerConfiguration

__all__ = ["INSTALL_HINT", "build_exchange", "ccxt_module", "config_issue", "pro_has", "rewrite_urls"]

INSTALL_HINT = "the ccxt adapter needs the ccxt package: pip install 'broker-integration[ccxt]'"


def config_issue(config: BrokerConfiguration, key: str, problem: str) -> ConfigError:
    return ConfigError.from_issues([ConfigIssue(None, f"{config.broker_name}.{key}", problem)])


def ccxt_module(config: BrokerConfiguration, *, pro: bool = False) -> ModuleType:
    """``ccxt.async_support`` (``ccxt.pro`` with ``pro``), or a ConfigError saying how to install it."""
    name = "ccxt.pro" if pro else "ccxt.async_support"
    try:
        return importlib.import_module(name)
    except ImportError:
        raise config_issue(config, "adapter", INSTALL_HINT) from None


def exchange_class(config: BrokerConfiguration, options: CcxtOptions, *, pro: bool) -> type[Any]:
    """The ccxt class of ``options.exchange``: from ``ccxt.pro`` when ``pro`` and it has one there."""
    module = ccxt_module(config)
    known: list[str] = list(module.exchanges)
    if options.exchange not in known:
        close = difflib.get_close_matches(options.exchange, known, n=3, cutoff=0.6)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f" (ccxt {module.__version__} knows {len(known)})"
        )
        raise config_issue(config, "options.exchange", f"ccxt has no exchange {options.exchange!r}{hint}")
    if pro:
        websockets = ccxt_module(config, pro=True)
        if options.exchange in websockets.exchanges:
            cls: type[Any] = getattr(websockets, options.exchange)
            return cls
    cls = getattr(module, options.exchange)
    return cls


def pro_has(config: BrokerConfiguration, exchange_id: str) -> bool:
    """Whether ccxt.pro has websockets for ``exchange_id``."""
    return exchange_id in ccxt_module(config, pro=True).exchanges


def _with_base(url: str, base: str) -> str:
    """``url`` with its scheme and host (and port) taken from ``base``, its path and query kept."""
    parts, target = urlsplit(url), urlsplit(base)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def rewrite_urls(urls: Any, rest_base: str | None, stream_base: str | None) -> Any:
    """ccxt's ``urls['api']`` (a string or nested dicts of them) pointed at ``rest_base`` (http URLs) and
    ``stream_base`` (ws URLs)."""
    if isinstance(urls, Mapping):
        return {key: rewrite_urls(value, rest_base, stream_base) for key, value in urls.items()}
    if isinstance(urls, str):
        scheme = urlsplit(urls).scheme
        if scheme in ("http", "https") and rest_base:
            return _with_base(urls, rest_base)
        if scheme in ("ws", "wss") and stream_base:
            return _with_base(urls, stream_base)
    return urls


def _deep_merge(base: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base) if isinstance(base, Mapping) else {}
    for key, value in extra.items():
        merged[key] = _deep_merge(merged.get(key), value) if isinstance(value, Mapping) else value
    return merged


def build_exchange(config: BrokerConfiguration, options: CcxtOptions, *, pro: bool) -> Any:
    """The ccxt exchange object for ``config``: credentials, endpoints, options, ccxt's limiter off."""
    cls = exchange_class(config, options, pro=pro)
    credentials = config.credentials
    settings: dict[str, Any] = {
        "enableRateLimit": False,
        "timeout": int(config.settings.timeout_seconds * 1000),
        "options": {"defaultType": options.market_type, **options.exchange_options},
    }
    if credentials.api_key is not None:
        settings["apiKey"] = credentials.api_key.get_secret_value()
    if credentials.secret_key is not None:
        settings["secret"] = credentials.secret_key.get_secret_value()
    if options.password is not None:
        settings["password"] = options.password.get_secret_value()
    exchange = cls(settings)
    if options.has:
        exchange.has = {**exchange.has, **options.has}
    endpoints = config.endpoints
    if endpoints.base_url or endpoints.stream_url:
        exchange.urls["api"] = rewrite_urls(
            exchange.urls.get("api"), endpoints.base_url, endpoints.stream_url
        )
    elif not credentials.environment.is_live:
        if not exchange.urls.get("test"):
            raise config_issue(
                config,
                "credentials.environment",
                f"{options.exchange} has no sandbox in ccxt (urls['test']); set environment: live to trade "
                "real money there, or endpoints.base_url to reach a simulator or proxy",
            )
        exchange.set_sandbox_mode(True)
    if options.urls:
        exchange.urls["api"] = _deep_merge(exchange.urls.get("api"), options.urls)
    exchange.timeout_on_exit = (
        0  # ccxt's close() would otherwise sleep 250 ms; the adapter owns no ws client then
    )
    return exchange

"""Configuration management: layered JSON/YAML files, environments, secrets, hot reload and versions.

Start with :func:`get_global_config_manager` (or a :class:`ConfigManager` of your own): set broker
configurations from code or load them from a file or folder, watch it for changes, bind running adapters
so that credential changes reach them, and inspect or roll back the recorded versions.
"""

from broker_integration.config.errors import ConfigError, ConfigIssue
from broker_integration.config.events import (
    ConfigChangedEvent,
    ConfigFailedEvent,
    ConfigReloadHeldEvent,
    CredentialRotationEvent,
)
from broker_integration.config.loader import ENVIRONMENT_VAR, LoadedConfig, load_path
from broker_integration.config.manager import ConfigManager, get_global_config_manager
from broker_integration.config.parsing import DeploymentEnvironment, deep_merge
from broker_integration.config.rotation import AdapterBinding, CredentialGate
from broker_integration.config.secrets import KEY_FILE_ENV, KEYS_ENV, KeyRing
from broker_integration.config.snapshot import ChangeKind, ConfigChange, ConfigSnapshot, ConfigSource
from broker_integration.config.versions import ConfigVersion
from broker_integration.config.watcher import ConfigWatcher, ReloadSettings

__all__ = [
    "ENVIRONMENT_VAR",
    "KEYS_ENV",
    "KEY_FILE_ENV",
    "AdapterBinding",
    "ChangeKind",
    "ConfigChange",
    "ConfigChangedEvent",
    "ConfigError",
    "ConfigFailedEvent",
    "ConfigIssue",
    "ConfigManager",
    "ConfigReloadHeldEvent",
    "ConfigSnapshot",
    "ConfigSource",
    "ConfigVersion",
    "ConfigWatcher",
    "CredentialGate",
    "CredentialRotationEvent",
    "DeploymentEnvironment",
    "KeyRing",
    "LoadedConfig",
    "ReloadSettings",
    "deep_merge",
    "get_global_config_manager",
    "load_path",
]

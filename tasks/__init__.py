"""Prefect tasks: thin wrappers that call model/ and infra/ and pass paths and ids, not tensors."""

import os

# Quiet, offline-safe Prefect defaults, set before Prefect is first imported. A user's own
# environment still wins (setdefault).
for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
    "PREFECT_UI_ENABLED": "false" if not os.environ.get("PREFECT_API_URL") else "true",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LOG_PRINTS": "true",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "DO_NOT_TRACK": "1",
}.items():
    os.environ.setdefault(_key, _value)

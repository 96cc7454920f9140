"""Prefect flows: each one only wires tasks. The CLI (``flows.cli``) is the composition root."""

import tasks  # noqa: F401  - applies Lookalike's Prefect defaults before Prefect is imported

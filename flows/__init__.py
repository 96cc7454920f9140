"""Prefect flows: each one only wires tasks."""

import tasks  # noqa: F401  - applies Lookalike's Prefect defaults before Prefect is imported

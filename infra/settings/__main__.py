"""``python -m infra.settings`` writes ``.env.example`` from the settings."""

from infra.settings import write_env_example

print(f"wrote {write_env_example()}")

# The image of the worker and TensorBoard services in docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY flows flows
COPY tasks tasks
COPY model model
COPY infra infra
RUN pip install --no-cache-dir .
ENTRYPOINT []

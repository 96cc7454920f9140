"""Plain PyTorch: data, networks, losses, training, embedding extraction, retrieval metrics.

Nothing here imports Prefect or Qdrant.
"""

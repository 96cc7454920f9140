"""Training runs as the pipeline runs them: settings in, a cached or freshly trained checkpoint
out. The networks, losses and loops themselves are plain PyTorch in ``model/``."""

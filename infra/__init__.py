"""Settings, the vector store, checkpoint and run storage, TensorBoard writing.

Nothing here knows how a model is trained.
"""

"""Embedding: the encoder contract (`Encoder`) and its implementations (`encoder.Embedder`, torch or ONNX)."""

from assistant.embedding.protocol import Encoder

__all__ = ["Encoder"]

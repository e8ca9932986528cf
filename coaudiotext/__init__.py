"""coaudiotext: faithful Keras 3 ports of multimodal (speech + text) spoken-language-understanding models."""

__version__ = "0.1.0"

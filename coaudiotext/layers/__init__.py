"""Custom Keras layers of coaudiotext (all registered and serialisable)."""

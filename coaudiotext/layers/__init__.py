"""Custom Keras layers of coaudiotext (all registered and serialisable).

Importing this package registers every layer of its modules (`activations`, `attention`, `fusion`,
`self_cross`, `transformer`) with Keras.
"""

from coaudiotext.layers import activations, attention, fusion, self_cross, transformer  # noqa: F401  (registers them)

"""Custom Keras layers of coaudiotext (all registered and serialisable).

Importing this package registers every layer of its modules (`activations`, `attention`, `fusion`,
`self_cross`, `transformer`, `ser_mmoe`) with Keras.
"""

from coaudiotext.layers import activations, attention, fusion, self_cross, transformer  # noqa: F401  (registers them)
from coaudiotext.layers import ser_mmoe  # noqa: F401  (registers them)

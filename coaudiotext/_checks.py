"""Argument checks shared by the package: errors name the argument, the allowed values and what was received."""


def check_choice(argument, value, allowed):
    """Raises a `ValueError` naming `argument`, the `allowed` values and the received `value`."""
    if value not in allowed:
        raise ValueError(
            f"Expected {argument} to be one of {{{', '.join(repr(a) for a in allowed)}}}. "
            f"Received: {argument}={value!r}"
        )

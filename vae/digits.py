"""User images -> MNIST-style digits. (Placeholder: being written.)"""


class InputError(ValueError):
    """An uploaded or drawn image is not a usable digit; the message says why."""


def load_digit(data: bytes):
    raise NotImplementedError

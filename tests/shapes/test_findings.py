"""The three dialects of Chainer's Linear InvalidType message are recognised (reference headline 1)."""

import pytest

from netport.shapes import parse_invalid_type
from netport.shapes.findings import chainer_linear_message

DIALECTS = {
    # Chainer 1.24 / 2.x
    "chainer<=2": "\nInvalid operation is performed in: LinearFunction (Forward)\n\n"
                  "Expect: prod(in_types[0].shape[1:]) == in_types[1].shape[1]\nActual: 784 != 250",
    # Chainer 3.x / 4.x
    "chainer3-4": "\nInvalid operation is performed in: LinearFunction (Forward)\n\n"
                  "Expect: in_types[0].shape[1] == in_types[1].shape[1]\nActual: 784 != 250",
    # Chainer 5+
    "chainer>=5": "\nInvalid operation is performed in: LinearFunction (Forward)\n\n"
                  "Expect: x.shape[1] == W.shape[1]\nActual: 784 != 250",
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_each_dialect_is_recognised(dialect):
    parsed = parse_invalid_type(DIALECTS[dialect])
    assert (parsed.dialect, parsed.function, parsed.actual, parsed.expected) == (dialect, "LinearFunction", 784, 250)


@pytest.mark.parametrize("version, dialect", [((1, 24, 0), "chainer<=2"), ((3, 5, 0), "chainer3-4"),
                                              ((7, 8, 1), "chainer>=5")])
def test_predicted_messages_parse_back_to_their_dialect(version, dialect):
    parsed = parse_invalid_type(chainer_linear_message(version, 784, 250))
    assert (parsed.dialect, parsed.actual, parsed.expected) == (dialect, 784, 250)


def test_other_messages_are_not_taken_for_a_width_check():
    assert parse_invalid_type("Expect: in_types[0].dtype == float32\nActual: int32 != float32") is None
    assert parse_invalid_type("something else entirely") is None

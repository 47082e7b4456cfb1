"""How findings name things (issue 13): articles before key types, names quoted from a
file, signature algorithms by name."""

from __future__ import annotations

import pytest

from kscert_gui.model.certificate import with_article
from kscert_gui.model.certinfo import quoted


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("EC secp256r1", "an EC secp256r1"),
        ("Ed25519", "an Ed25519"),
        ("Ed448", "an Ed448"),
        ("RSA 1024", "an RSA 1024"),
        ("SM2", "an SM2"),
        ("X25519", "an X25519"),
        ("DSA 2048", "a DSA 2048"),
        ("DH 2048", "a DH 2048"),
        ("GOST R 34.10-2001", "a GOST R 34.10-2001"),
        ("unknown (1.2.3.4)", "an unknown (1.2.3.4)"),
    ],
)
def test_article(phrase: str, expected: str) -> None:
    assert with_article(phrase) == expected


def test_quoted_escapes_what_would_act_on_a_terminal() -> None:
    assert quoted("mdm.example.com") == "mdm.example.com"
    assert quoted("Zürich 東京") == "Zürich 東京"
    assert quoted("a\x1b[2Jb\nc\rd\x7f\u202ee\u2028f\u200bg") == (
        "a\\x1b[2Jb\\x0ac\\x0dd\\x7f\\u202ee\\u2028f\\u200bg"
    )

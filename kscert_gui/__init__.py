"""kscert_gui: console and command line for the mobile Administration Server certificate."""

# First of all: in the `kscert` program, SIGINT/SIGTERM are recorded until main() knows
# the command (no KeyboardInterrupt traceback from an import; see startup.py).
from kscert_gui import startup as _startup

_startup.defer_early()

import logging  # noqa: E402
import warnings  # noqa: E402

__version__ = "0.1.0"

# Without a configured handler, logging's last resort prints records (and tracebacks) to
# stderr; the CLI promises no traceback. The GUI's file handler on the root still gets them.
logging.getLogger("kscert_gui").addHandler(logging.NullHandler())

# cryptography warns (on stderr, with a file path and line) when it parses a certificate
# whose serial number is zero or negative. Such a certificate is still judged by the §4
# rules like any other; the warning is noise to a person reading `kscert inspect`, so the
# package silences that one message (by text, so that this import stays free of
# cryptography).
warnings.filterwarnings("ignore", message=r"Parsed a serial number which wasn't positive")
# The same for the other notes it prints on files made elsewhere (pyca's test vectors have
# them all): a PKCS #12 in BER, a country name of the wrong length, a DH key.
for _message in (
    r"PKCS#12 bundle could not be parsed as DER",
    r"Attribute's length must be",
    r"Diffie-Hellman over finite fields",
):
    warnings.filterwarnings("ignore", message=_message)

"""kscert_gui: console and command line for the mobile Administration Server certificate."""

import logging

__version__ = "0.1.0"

# Without a configured handler, logging's last resort prints records (and tracebacks) to
# stderr; the CLI promises no traceback. The GUI's file handler on the root still gets them.
logging.getLogger("kscert_gui").addHandler(logging.NullHandler())

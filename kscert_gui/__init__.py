"""kscert_gui: console and command line for the mobile Administration Server certificate."""

__version__ = "0.1.0"

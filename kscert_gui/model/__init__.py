"""Pure model layer: no PySide6, no files, no sockets, no keyring, no clock reads."""

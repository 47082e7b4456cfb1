"""I/O services (store, secrets, TLS) and the AdministrationServer facade. No Qt here."""

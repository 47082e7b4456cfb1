"""The Properties window of the Administration Server and its pages."""

"""The Watched endpoints node of the console tree (DESIGN §13): the page, its table model
and its Add window. The page is given a :class:`~kscert_gui.services.watch.WatchList`
and runs every call of it in a worker (ui/tasks.py)."""

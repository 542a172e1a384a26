"""Signal receivers of the cases app (connected in ``apps.py``)."""

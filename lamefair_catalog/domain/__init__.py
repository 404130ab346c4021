"""The catalog's rules and transactions: who may do what, one module per resource, the change feed.

Routes call these commands and nothing else; the commands call the database and the storage
gateway. Nothing here knows about HTTP beyond the status each error becomes (`errors.py`).
"""

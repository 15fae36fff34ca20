"""The store's Alembic migrations, applied when a store opens (:mod:`broker_integration.store.migrate`).

``env.py`` runs them on the connection the store hands over; ``versions/`` holds one file per revision,
named ``NNNN_description.py`` with ``revision = "NNNN"``, each revising the one before.
"""

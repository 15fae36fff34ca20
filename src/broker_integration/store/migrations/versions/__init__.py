"""One Alembic revision per file (Alembic loads them by path; this file only makes the folder a package)."""

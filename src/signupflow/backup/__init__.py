"""Logical backups: encrypted pg_dump archives with a manifest, retention, verify and restore."""

"""The ClickHouse server infra runs: `server.py` (install, configure, start, probe) and the
product's schema (`migrations.py` applying `migrations/NNN_*.sql` in order)."""

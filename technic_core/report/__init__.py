"""``technic report``: one self-contained HTML page from results files (never the engine)."""

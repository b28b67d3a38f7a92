"""The `nba_exports` layer: files and tables for the people using the predictions."""

"""The livepoll server: the single owner of a session's state and its database."""

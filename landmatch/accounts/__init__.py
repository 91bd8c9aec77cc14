"""Accounts: passwords, sign-in sessions, API tokens, throttling and the audit log.

Services only (no HTTP): the API and the workbench pages call them; errors are the classes of
``landmatch.errors`` with Chinese messages.
"""

"""Read-side queries for the dashboard, one module per page.

Every query takes the signed-in user and scopes through ``coldchain.access``;
views only pass their results to templates.
"""

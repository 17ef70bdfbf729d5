"""The WSGI entry point for a production server: `gunicorn portal.wsgi:app` (settings from PORTAL_* variables)."""

from portal.app import create_app

app = create_app()

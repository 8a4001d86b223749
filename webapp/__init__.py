"""The web layer: `webapp.app.create_app` builds the Flask app (this package stays light for gunicorn.conf.py)."""

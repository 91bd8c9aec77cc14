"""ASGI entry point for uvicorn: ``landmatch.api.main:app``."""

from landmatch.api.app import create_app
from landmatch.settings import get_settings

app = create_app(get_settings())

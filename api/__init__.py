"""The geoplan HTTP service (FastAPI): the city's deputy portal calls the planner here.

``api.main:create_app`` builds the app; ``api.main:app`` is the default instance
(``uvicorn api.main:app``); ``api.main:serve`` is what ``geoplan serve`` runs.
No planning logic lives here: every answer comes from :mod:`geoplan`.
"""

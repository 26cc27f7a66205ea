"""The REST API, one router per concern; every route states its access rule (``web.auth``)."""

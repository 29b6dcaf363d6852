"""The web console: server-rendered pages over the core services, for one account at a time
(the session's), and the landing page and offline API docs beside it."""

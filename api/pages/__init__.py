"""The server-rendered pages: the citizen lookup (/tra-cuu) and the officer desk (/can-bo)."""

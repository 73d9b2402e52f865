"""The portal: server-rendered pages for the people who run the competition.

It holds no rule and keeps no store: every page reads the services' own HTTP APIs and every
form sends the services' own commands, with the signed-in person's token (ARCHITECTURE.md).
"""

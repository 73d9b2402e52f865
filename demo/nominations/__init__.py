"""The demo's nominations: synthetic applicants, their documents and the secretary's checks."""

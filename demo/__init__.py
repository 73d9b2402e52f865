"""The demo edition: a synthetic 2020 edition driven through the services' own HTTP APIs.

Not the product: the image does not ship this package (Dockerfile copies shared/ and
services/ only); `uzdik demo` imports it from a checkout."""

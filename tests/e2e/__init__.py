"""The platform end to end: a package, so that its package-scoped services stop when its
tests are done rather than at the end of the session."""

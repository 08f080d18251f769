"""The twins crossverify ships: the article's networks, declared like any user's (docs/TWINS.md)."""

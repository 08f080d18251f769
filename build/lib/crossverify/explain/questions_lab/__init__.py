"""The computations behind docs/QUESTIONS.md: each reader's question of the article's comment
section answered by running both languages (bridge/explain/questions.py is the registry and the
rendering). One module per theme; ``lab.py`` holds what they share, ``altered.py`` the Python half of
the experiments written in r_impl/R/questions.R."""

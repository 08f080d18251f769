"""The article's bias network as a twin: declaration (twin.py) and the model of R's recycling (rmodel.py)."""

"""The article's detail-section network as a twin (twin.py)."""

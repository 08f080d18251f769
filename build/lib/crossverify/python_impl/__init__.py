"""The article's numpy networks, one function per article step (see python_impl/bias_net.py)."""

"""Publishing: write approved stories to a static site with JSON Feed and Atom feeds.

The output is a plain directory on any fsspec store, so it can be served by any web
server or bucket; the publisher owns only the files its manifest lists.
"""

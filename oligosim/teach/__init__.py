"""``oligosim teach``: the teaching lessons as a local web app (Shiny for Python).

Optional extra: ``pip install "oligosim[teach]"``. :mod:`oligosim.teach.pages` holds what a page
shows and runs, :mod:`oligosim.teach.figures` draws it, :mod:`oligosim.teach.app` lays it out
and :mod:`oligosim.teach.serve` starts the server; docs/teach.md describes the whole.
"""

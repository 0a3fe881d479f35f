"""Start the teaching app: compile (or load) the kernel, serve on 127.0.0.1, open the browser."""

from __future__ import annotations

import socket
import sys
import threading
import time
import webbrowser

#: the address the app listens on: this machine only (the app runs whatever scenario it is given)
HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def warm_up() -> float:
    """Run one small lesson once and draw its page, so the kernel is compiled (or loaded from
    numba's cache), the lessons are read and the analysis and plotting modules are imported
    before the first page asks; returns the seconds it took."""
    import oligosim
    from oligosim.api import announce_compile
    from oligosim.teach import figures, pages

    t0 = time.perf_counter()
    announce_compile()
    les = pages.lessons()[0]
    res = oligosim.run(les.scenario, patients=50, seed=1, arms=list(les.arms)[:1], announce=False)
    for kind in pages.FIGURES:
        figures.figure_png(res, kind)
    figures.metrics_table(res, les.table)
    return time.perf_counter() - t0


def serve(port: int = DEFAULT_PORT, *, open_browser: bool = True, log_level: str = "warning") -> None:
    """Serve the app on ``http://127.0.0.1:PORT/`` until interrupted (Ctrl-C).

    Parameters
    ----------
    port : int
        TCP port on 127.0.0.1 (must be free).
    open_browser : bool
        Open the index page in the default browser once the server is up.
    log_level : str
        uvicorn's log level.
    """
    import uvicorn

    from oligosim.teach.app import make_app

    seconds = warm_up()
    app = make_app()
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level=log_level, lifespan="off"))
    url = f"http://{HOST}:{port}/"

    def announce():
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(f"oligosim teach: serving {url} (kernel ready in {seconds:.1f} s; Ctrl-C to stop)", file=sys.stderr, flush=True)
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run()

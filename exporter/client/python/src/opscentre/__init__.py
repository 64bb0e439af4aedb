"""OpsCentre client: send inference events, ground-truth labels and references to an
aiops_exporter from Python without slowing a request.

    import opscentre
    client = opscentre.Client("http://127.0.0.1:9477", model="fraud", version="v3")
    client.log_prediction({"amount": 129.5, "country": "DE"}, "legit", id="tx-1", latency=0.042)

See the package README for everything else.
"""

from ._client import Client, ExporterError, Rejection, Stats, Timer
from ._containment import Containments, Decision, decide
from ._event import CONTAINMENT_ACTIONS, OUTCOMES, RATINGS

__all__ = ["Client", "ExporterError", "Rejection", "Stats", "Timer", "OUTCOMES", "RATINGS",
           "Containments", "Decision", "decide", "CONTAINMENT_ACTIONS"]
__version__ = "0.1.0"

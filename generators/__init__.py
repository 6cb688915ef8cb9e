"""Content generation for Nightdesk: drafts, copy and cover images produced from warehouse facts.

Importing this package sets ``OMP_WAIT_POLICY=PASSIVE`` (unless the deployment set it)
before anything loads torch's OpenMP runtime. With the default active waiting, OpenMP
threads spin at every barrier; when the cores are shared with other work (an Airflow
worker's scheduler, other tasks), a spinning thread waits on one that is descheduled. On
the 2-core development machine under load a 10-token SmolLM2 forward pass took 4.3 s
with two spinning threads and 0.3 s with passive waiting (see docs/benchmarks.md).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

"""The web server's process never loads TensorFlow or Keras, whatever a visitor does.

Loading them takes seconds and hundreds of megabytes and starts threads of their own, in the
process that serves every visitor. So the framework's work is done elsewhere: trainings in the
worker processes (`nn.engines` imports the framework lazily), a `.keras` file and TensorFlow's
gradients in the framework process (`services.framework_calls`). A fresh Python process plays
the server here: it opens every page of the app with AppTest, as a visitor would, trains a run
with the TensorFlow engine, prepares a `.keras` file on Compare runs and computes TensorFlow's
gradients on Step by step, and then lists the framework modules it holds: there must be none.
(A module of the app that imported Keras at its top, even unused, would fail this.)
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.app_driver import ROOT

PAGES = sorted(f"app_pages/{path.name}" for path in (ROOT / "app_pages").glob("*.py"))
FRAMEWORKS = ("tensorflow", "keras")
VISITOR_SECONDS = 600

# What the server's process does, run by a fresh interpreter; it prints the framework modules loaded.
VISITOR = f"""
import json, sys

from services.runs import RunStore
from tests.support.app_driver import SHIPPED_MODEL, button, open_page
from ui import session

RunStore().import_model(SHIPPED_MODEL.read_bytes(), name="default")
for page in sys.argv[1:]:
    open_page(page)

app = open_page("app_pages/train.py")
app.sidebar.selectbox(key="hp_engine").set_value("tensorflow")
inputs = {{w.key: w for w in app.sidebar.number_input}}
inputs["hp_epochs"].set_value(1)
inputs["hp_train_size"].set_value(500).run()
button(app, "Train").click().run()
trainer = app.session_state[session.TRAINER]
assert trainer.join({VISITOR_SECONDS}) and trainer.progress().saved is not None, trainer.progress()
assert trainer.progress().device.startswith("TensorFlow"), trainer.progress().device
app.run()

app = open_page("app_pages/runs.py")
button(app, "Prepare .keras").click().run(timeout={VISITOR_SECONDS})
assert not app.error and "Download .keras" in [d.proto.label for d in app.get("download_button")]

app = open_page("app_pages/step_by_step.py")
button(app, "Compute the same gradients in TensorFlow").click().run(timeout={VISITOR_SECONDS})
assert not app.error and len(app.code) == 2

loaded = sorted(name for name in sys.modules if name.split(".")[0].startswith({FRAMEWORKS!r}))
print(json.dumps(loaded))
"""


def test_no_page_or_button_loads_a_framework_into_the_server(models_dir):
    # models_dir: the app's own models folder (a copy of the shipped model), passed on in the
    # environment with the session's throwaway run store.
    visitor = subprocess.run(
        [sys.executable, "-c", VISITOR, *PAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=VISITOR_SECONDS,
    )
    assert visitor.returncode == 0, visitor.stderr[-3000:]
    loaded = json.loads(visitor.stdout.strip().splitlines()[-1])
    assert loaded == [], f"the server's process loaded {len(loaded)} framework modules, e.g. {loaded[:5]}"

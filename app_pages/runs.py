"""Compare runs: every recorded training run, their learning curves side by side, and actions."""

from datetime import datetime

import streamlit as st

from nn.core.errors import ModelFileError
from nn.export.to_onnx import onnx_bytes
from services.database import RunStoreError
from services.runs import MAX_UPLOAD_BYTES, RunStore
from ui import cache, interrupted, runs, session

UPLOADS = "runs_uploads"  # bumping this gives the uploader a new key, which empties it
UPLOAD_MB = MAX_UPLOAD_BYTES // 2**20

st.title("Compare runs")
st.caption(
    "Every training run — from the Train page, from `python -m digitlab train` or a fine-tune on your "
    "digits — is recorded here with its hyper-parameters and learning curves. Tick runs to lay "
    "their curves over each other: which learning rate learned fastest, which one overfitted?"
)
try:
    store = RunStore()
    recorded = store.runs()
except RunStoreError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()

kind, message = st.session_state.pop(runs.NOTICE, (None, None))
if kind:
    (st.success if kind == "success" else st.error)(message)

interrupted.show("runs")
active = session.active_model()
if not recorded:
    st.info(
        "No runs recorded yet: train one on the Train page, or upload a model below.", icon=":material/info:"
    )
else:
    widths = [4, 4, 3, 1.3, 1.3, 1, 2]
    titles = ("run", "network and settings", "engine and device", "epochs", "test acc.", "time", "from")
    for column, title in zip(st.columns(widths), titles):
        column.markdown(f"**{title}**")
    ticked = []
    for run in recorded:
        cells = st.columns(widths)
        star = " ★" if runs.is_active(run, active.path if active else None) else ""
        if cells[0].checkbox(f"{run.name}{star}", key=f"compare_{run.id}"):
            ticked.append(run)
        cells[1].caption(f"{run.architecture} · {runs.settings_summary(run)}")
        cells[2].caption(runs.engine_and_device(run))
        cells[3].caption(str(len(run.history)))
        cells[4].caption(f"{run.test_accuracy:.2%}" if run.test_accuracy is not None else "—")
        cells[5].caption(f"{run.seconds:.0f} s" if run.seconds is not None else "—")
        cells[6].caption(f"{run.source}, {datetime.fromisoformat(run.created).astimezone():%d %b %H:%M}")
    st.caption("★ the active model, used by every page.")
    if ticked:
        st.plotly_chart(runs.curves_chart(ticked), width="stretch")
    else:
        st.info("Tick one or more runs to see their loss and accuracy curves.", icon=":material/show_chart:")

    st.subheader("Manage a run")
    by_id = {run.id: run for run in recorded}
    chosen = by_id[st.selectbox("Run", list(by_id), format_func=lambda i: by_id[i].name)]
    actions = st.container(horizontal=True)  # each button as wide as its words, in this order
    actions.button("Make active", icon=":material/check_circle:", on_click=runs.make_active, args=(chosen,))
    if chosen.model_path.is_file():
        actions.download_button(
            "Download .npz",
            chosen.model_path.read_bytes,  # read only when clicked: a model can be tens of MB
            file_name=f"{chosen.model_path.stem}.npz",
            mime="application/octet-stream",
            icon=":material/download:",
        )
        try:
            model = cache.model(chosen.model_path)
        except ModelFileError as exc:
            model = None
            st.error(f"Its model file cannot be read: {exc}", icon=":material/error:")
        if model is not None and model.deskews:
            st.caption(
                "No .onnx or .keras file for this run: its network deskews every image before "
                "reading it, which neither format can do."
            )
        elif model is not None:
            actions.download_button(
                "Download .onnx",
                lambda: onnx_bytes(model),  # built only when clicked
                file_name=f"{chosen.model_path.stem}.onnx",
                mime="application/octet-stream",
                icon=":material/output:",
                help="the same network for onnxruntime, Netron and other tools: input 'pixels' "
                "[N, 784] in 0–1, output 'probabilities' [N, 10]",
            )
            with actions:
                keras_problem = runs.keras_download(chosen)
            if keras_problem:
                st.error(keras_problem, icon=":material/error:")
    else:
        actions.warning("Its model file is missing.")
    with actions.popover("Rename", icon=":material/edit:"):
        key = f"new_name_{chosen.id}"
        st.text_input("New name", value=chosen.name, key=key)
        st.button("Save name", on_click=runs.rename, args=(store, chosen, key))
    with actions.popover("Delete", icon=":material/delete:"):
        st.write(f"Delete “{chosen.name}” and its model file? This cannot be undone.")
        st.button("Delete for good", type="primary", on_click=runs.delete, args=(store, chosen))

st.subheader("Upload a model")
st.caption(
    "A `.npz` model saved by Digit Lab (from the CLI or downloaded above). It is checked as "
    "strictly as any model file — never unpickled, every array's shape checked, "
    f"at most {UPLOAD_MB} MB — "
    "and its test accuracy is measured here, not taken from the file."
)
uploads = st.session_state.get(UPLOADS, 0)
upload = st.file_uploader("Model file", type=["npz"], key=f"upload_{uploads}", max_upload_size=UPLOAD_MB)
if upload is not None and st.button("Add to runs", icon=":material/upload:"):
    try:
        added = store.import_model(upload.getvalue(), name=upload.name.removesuffix(".npz"))
    except (ModelFileError, ValueError) as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        st.session_state[UPLOADS] = uploads + 1
        st.session_state[runs.NOTICE] = (
            "success",
            f"Added “{added.name}” ({added.test_accuracy:.2%} on the test set).",
        )
        st.rerun()

"""The free page: any shipped scenario, or an uploaded TOML file validated exactly as
``oligosim check`` validates it; pick arms, patients and seed, run, and download the summary and
the per-patient data.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from pathlib import Path

from shiny import App, reactive, render, ui
from shiny.types import SafeException

import oligosim
from oligosim.commands import check
from oligosim.config import ConfigError
from oligosim.teach import figures as figs
from oligosim.teach.app import _head, figures_tag, table_tag

#: the free page's limits on patients per arm: enough for a class, small enough for memory
MAX_PATIENTS = 50_000
SUMMARY_METRICS = ("os.median", "os.rmst:36", "pfs.median", "os.rate:24", "local_control:12", "tox.any", "treatment_deaths", "first_failure.widespread")


def validate_upload(path: Path, shown_name: str) -> tuple[oligosim.config.Scenario | None, list[str]]:
    """Validate an uploaded file as ``oligosim check`` does; return the scenario or the errors.

    The errors are ``check``'s own lines (file, key, value and rule), the file named as the
    user named it. A valid file of another kind (an experiment, a targets file...) is refused
    with what it is and which command runs it, as ``oligosim run`` does.
    """
    kind = check.sniff_kind(str(path))
    try:
        # check's own per-file validation, so the page and `oligosim check` can never disagree
        note = check._check_one(str(path), kind, None)
    except ConfigError as exc:
        return None, [line.replace(str(path), shown_name) for line in exc.errors]
    if kind not in (None, "scenario", "base"):
        what, how = check.COMMAND_FOR[kind]
        return None, [f"{shown_name}: this is {what}, not a scenario: {how}; the free page runs scenarios"]
    if note and note.startswith("no arms"):
        return None, [f"{shown_name}: {note}"]
    return oligosim.load(path), []


def free_ui():
    shipped = oligosim.list_shipped("scenario")
    names = {n: f"{n}: {t}" if t else n for n, t in zip(shipped["name"], shipped["title"])}
    sidebar = ui.sidebar(
        ui.tags.a("All lessons", href="/"),
        ui.input_radio_buttons("source", "Scenario", {"shipped": "a shipped scenario", "upload": "my own TOML file"}),
        ui.panel_conditional("input.source === 'shipped'", ui.input_select("scenario", None, names, selected="default")),
        ui.panel_conditional(
            "input.source === 'upload'",
            ui.input_file("upload", None, accept=[".toml"]),
            ui.tags.small("Validated as `oligosim check` does. Extend a shipped scenario by name: extends = \"default\"."),
        ),
        ui.input_checkbox_group("arms", "Arms", choices=[]),
        ui.input_numeric("patients", "Patients per arm", value=2000, min=100, max=MAX_PATIENTS, step=100),
        ui.input_numeric("seed", "Seed", value=1, min=0, step=1),
        ui.input_action_button("run", "Run", class_="btn-primary"),
        width=380,
        open="always",
    )
    return ui.page_sidebar(
        sidebar,
        _head(),
        ui.p(
            "Pick a shipped scenario or upload your own, choose arms, patients per arm and seed, and press Run. Every arm meets "
            "the same virtual patients; the table gives 95% Monte Carlo intervals. Downloads: the summary (one row per arm and "
            "metric, as Result.summary()), summary.json (as oligosim run writes it) and the per-patient table."
        ),
        ui.output_ui("problems"),
        ui.output_text("status", inline=False),
        ui.output_ui("downloads"),
        ui.output_ui("table"),
        ui.output_ui("figures"),
        title="Free page: run any scenario",
        window_title="oligosim teach - free page",
    )


def free_server(input, output, session):
    upload_dir = Path(tempfile.mkdtemp(prefix="oligosim-teach-"))
    session.on_ended(lambda: shutil.rmtree(upload_dir, ignore_errors=True))

    @reactive.calc
    def loaded():
        if input.source() == "shipped":
            return oligosim.load(input.scenario()), []
        files = input.upload()
        if not files:
            return None, ["Choose a TOML file to upload."]
        name = Path(files[0]["name"]).name
        dest = upload_dir / name
        shutil.copyfile(files[0]["datapath"], dest)
        return validate_upload(dest, name)

    @reactive.effect
    def _arms():
        sc, _ = loaded()
        arms = list(sc.data["arms"]) if sc is not None else []
        ui.update_checkbox_group("arms", choices=arms, selected=arms)

    @render.ui
    def problems():
        _, errors = loaded()
        if not errors:
            return None
        return ui.tags.pre("\n".join(errors), class_="teach-problems text-danger", style="white-space: pre-wrap")

    @reactive.calc
    @reactive.event(input.run)
    def result():
        sc, errors = loaded()
        if sc is None:
            raise SafeException("no valid scenario: " + "; ".join(errors))
        arms = list(input.arms())
        if not arms:
            raise SafeException("arms: pick at least one arm")
        patients = int(input.patients() or 0)
        if not 1 <= patients <= MAX_PATIENTS:
            raise SafeException(f"patients per arm = {patients}: must be within [1, {MAX_PATIENTS}]")
        return oligosim.run(sc, patients=patients, seed=int(input.seed() or 0), arms=arms, announce=False)

    @render.text
    def status():
        res = result()
        return f"{res.scenario.name}: {len(res.arms)} arms x {res.n_patients:,} patients, seed {res.seed}, {res.raw.seconds:.1f} s."

    @render.ui
    def table():
        res = result()
        return ui.TagList(ui.h6("Outcomes with 95% Monte Carlo confidence intervals"), table_tag(figs.metrics_table(res, SUMMARY_METRICS)))

    @render.ui
    def figures():
        return figures_tag(result(), ("km_os", "km_pfs", "failure", "toxicity"))

    @render.ui
    def downloads():
        result()
        return ui.div(
            ui.download_button("dl_summary", "Summary (CSV)"),
            ui.download_button("dl_summary_json", "summary.json"),
            ui.download_button("dl_patients", "Per-patient data (CSV)"),
            class_="d-flex gap-2 my-2",
        )

    @render.download(filename="summary.csv")
    def dl_summary():
        yield result().summary().to_csv(index=False)

    @render.download(filename="summary.json")
    def dl_summary_json():
        yield json.dumps(result().summary_json(), indent=2)

    @render.download(filename="patients.csv")
    def dl_patients():
        buf = io.StringIO()
        result().patients().to_csv(buf, index=False)
        yield buf.getvalue()


def free_app() -> App:
    return App(free_ui(), free_server)

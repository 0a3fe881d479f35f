"""The web app: an index page, one Shiny page per lesson and the free page, mounted on one
Starlette application (``/``, ``/lesson/<id>/``, ``/free/``).

A lesson page is a sidebar of controls and a main column: the clinical question, the consensus
statements quoted with their numbers, the figures and the table of the run at the controls'
values, the take-home message, a "not supported by the current model" note where the lesson
has one, and what the model cannot tell. Every change of a control reruns the model through
:class:`oligosim.teach.pages.RunCache` (no model logic here).
"""

from __future__ import annotations

from shiny import App, reactive, render, ui
from shiny.types import SafeException

from oligosim.config import ConfigError
from oligosim.teach import figures as figs
from oligosim.teach import pages

FIGURE_ALT = {
    "km_os": "Kaplan-Meier curves of overall survival with numbers at risk",
    "km_pfs": "Kaplan-Meier curves of progression-free survival with numbers at risk",
    "failure": "Pattern of first failure per arm",
    "toxicity": "Grade 3 or higher toxicity per arm with 95% intervals",
}

CSS = """
.teach-figures { display: flex; flex-wrap: wrap; gap: 1rem; }
.teach-figures img { width: calc(50% - .5rem); min-width: 420px; max-width: 100%; height: auto; border: 1px solid #ddd; background: white; }
.teach-statement { border-left: 4px solid #2c7fb8; padding-left: .8rem; margin: .6rem 0; }
.teach-table td, .teach-table th { padding: .2rem .6rem; border-bottom: 1px solid #eee; font-size: .9rem; }
.teach-status { color: #555; font-size: .9rem; }
"""


def _head(title: str | None = None):
    # an empty icon: browsers ask for /favicon.ico, which would log a 404 in the console
    extra = [ui.tags.title(title)] if title else []
    return ui.head_content(ui.tags.link(rel="icon", href="data:,"), ui.tags.style(CSS), *extra)


def statement_block(numbers) -> ui.Tag:
    """The consensus statements ``numbers``, quoted in English with number, evidence and agreement."""
    sts = pages.statements()
    items = []
    for n in numbers:
        s = sts[n]
        items.append(
            ui.tags.blockquote(
                ui.tags.b(f"Statement {n}. "),
                s["text"],
                ui.tags.br(),
                ui.tags.small(f"Quality of evidence: {s['evidence']}; level of agreement: {s['agreement']}."),
                class_="teach-statement",
            )
        )
    return ui.TagList(*items)


def table_tag(rows) -> ui.Tag:
    head, *body = rows
    return ui.tags.table(
        ui.tags.thead(ui.tags.tr(*(ui.tags.th(h) for h in head))),
        ui.tags.tbody(*(ui.tags.tr(*(ui.tags.td(c) for c in r)) for r in body)),
        class_="teach-table",
    )


def figures_tag(result, kinds) -> ui.Tag:
    return ui.div(
        *(ui.img(src=f"data:image/png;base64,{figs.figure_png(result, k)}", alt=FIGURE_ALT[k], class_=f"teach-fig-{k}") for k in kinds),
        class_="teach-figures",
    )


# ----------------------------------------------------------------------------- lesson pages
def _control_input(i: int, c: pages.Control, value):
    cid = f"c{i}"
    if c.widget == "slider":
        return ui.input_slider(cid, c.label, min=c.min, max=c.max, value=value, step=c.step)
    if c.widget == "select":
        return ui.input_select(cid, c.label, choices={str(v): lab for v, lab in c.choices}, selected=str(value))
    return ui.input_switch(cid, c.label, value=bool(value))


def lesson_ui(les: pages.Lesson):
    defaults = les.defaults()
    controls = []
    for i, c in enumerate(les.controls):
        controls.append(_control_input(i, c, defaults[c.key]))
        if c.bed10_fractions:
            controls.append(ui.output_text(f"bed{i}"))
    sidebar = ui.sidebar(
        ui.tags.a("All lessons", href="/"),
        ui.h5("Controls"),
        *controls,
        ui.tags.p(
            f"Each change reruns the model: {les.patients:,} patients per arm x {len(les.arms)} arms, seed {les.seed} "
            "(the same virtual patients in every arm and at every setting). This size answers within about 2 s on a "
            "2-core machine; the 95% Monte Carlo intervals show what it leaves uncertain.",
            class_="teach-status",
        ),
        width=360,
        open="always",
    )
    not_supported = (
        [ui.card(ui.card_header("Not supported by the current model"), ui.p(les.not_supported), class_="border-warning teach-not-supported")]
        if les.not_supported
        else []
    )
    return ui.page_sidebar(
        sidebar,
        _head(),
        ui.card(ui.card_header("Clinical question"), ui.p(les.question)),
        ui.card(ui.card_header("What the consensus says"), statement_block(les.statements)),
        ui.card(
            ui.card_header("The model, rerun at the controls' values"),
            ui.output_text("status", inline=False),
            ui.output_ui("figures"),
            ui.h6("Outcomes with 95% Monte Carlo confidence intervals"),
            ui.output_ui("table"),
        ),
        ui.card(ui.card_header("Take-home message (what the model supports)"), ui.p(les.take_home), class_="border-success teach-take-home"),
        *not_supported,
        ui.card(ui.card_header("What the model cannot tell you"), ui.p(les.cannot_tell), class_="teach-cannot-tell"),
        title=les.title,
        window_title=f"oligosim teach - {les.title}",
    )


def _typed_value(c: pages.Control, raw):
    if c.widget == "select":
        return {str(v): v for v, _ in c.choices}[raw]
    if c.widget == "switch":
        return bool(raw)
    return type(c.step)(raw) if c.step is not None else raw


def lesson_server(les: pages.Lesson, cache: pages.RunCache):
    def server(input, output, session):
        def values() -> dict:
            return {c.key: _typed_value(c, input[f"c{i}"]()) for i, c in enumerate(les.controls)}

        @reactive.calc
        def page_run():
            try:
                return cache.run(les, values())
            except ConfigError as exc:  # a combination the schema refuses: say which and why
                raise SafeException(str(exc)) from None

        @render.text
        def status():
            pr = page_run()
            return (
                f"{pr.result.n_patients:,} patients per arm x {len(pr.result.arms)} arms, seed {pr.result.seed}: "
                f"simulated in {pr.seconds:.1f} s. Shaded bands and error bars are 95% Monte Carlo intervals."
            )

        @render.ui
        def figures():
            return figures_tag(page_run().result, les.figures)

        @render.ui
        def table():
            return table_tag(figs.metrics_table(page_run().result, les.table))

        for i, c in enumerate(les.controls):
            if c.bed10_fractions:
                _bed_output(i, c, les, input, output)

    return server



def _bed_output(i, c, les, input, output):
    @output(id=f"bed{i}")
    @render.text
    def _bed():
        vals = {cc.key: _typed_value(cc, input[f"c{j}"]()) for j, cc in enumerate(les.controls)}
        fractions = vals.get(c.bed10_fractions, les.scenario.get(c.bed10_fractions))
        return f"BED10 = {pages.bed10(vals[c.key], int(fractions)):.1f} Gy ({vals[c.key]:g} Gy in {int(fractions)} fractions)"


def lesson_app(les: pages.Lesson, cache: pages.RunCache) -> App:
    return App(lesson_ui(les), lesson_server(les, cache))


# ----------------------------------------------------------------------------- index
def index_app() -> App:
    items = [
        ui.tags.li(ui.tags.a(les.title, href=f"/lesson/{les.id}/"), f" (statements {', '.join(map(str, les.statements))})")
        for les in pages.lessons()
    ]
    page = ui.page_fluid(
        _head("oligosim teach"),
        ui.h2("oligosim teach"),
        ui.p(
            "Each lesson asks a clinical question about oligometastatic esophageal cancer, quotes the statements of the 2025 "
            "Chinese expert consensus it illustrates, and reruns the simulation model whenever you move a control. The model "
            "shows mechanisms and directions; never quote its months as evidence."
        ),
        ui.h4("Lessons"),
        ui.tags.ol(*items, class_="teach-lessons"),
        ui.h4("Free page"),
        ui.p(ui.tags.a("Run any shipped scenario, or your own TOML file", href="/free/"), ", pick arms, download the results."),
    )
    return App(page, None)


def make_app():
    """The Starlette application serving every page."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from oligosim.teach import free

    cache = pages.RunCache()
    routes = [Mount(f"/lesson/{les.id}", app=lesson_app(les, cache)) for les in pages.lessons()]
    routes.append(Mount("/free", app=free.free_app()))
    routes.append(Mount("/", app=index_app()))
    return Starlette(routes=routes)


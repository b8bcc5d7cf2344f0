"""The hint boxes the Train page will show after a run: one per hint, none when nothing applies."""

from streamlit.testing.v1 import AppTest

from nn.core.events import EpochEnd


def boxes(history: list[EpochEnd], status: str) -> AppTest:
    def script(history, status):
        from nn.explain.hints import diagnose
        from ui.hints import show_hints

        show_hints(diagnose(history, status=status, lr=0.07))

    app = AppTest.from_function(script, kwargs={"history": history, "status": status}, default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def epoch(n: int, loss: float, train: float, test: float) -> EpochEnd:
    return EpochEnd(n, 2, loss, train, val_accuracy=None, test_accuracy=test, seconds=0.4, lr=0.07)


def test_a_diverged_run_gets_one_box_naming_the_learning_rate():
    app = boxes([epoch(1, 0.5, 0.85, 0.9)], "diverged")
    assert len(app.warning) == 1
    assert "**Diverged.**" in app.warning[0].value
    advice = "**Setting to change: learning rate.** Lower it: try 0.007 instead of 0.07."
    assert advice in app.warning[0].value


def test_a_run_that_went_well_shows_nothing():
    app = boxes([epoch(1, 0.5, 0.85, 0.9), epoch(2, 0.499, 0.86, 0.91)], "completed")
    assert len(app.warning) == 0
